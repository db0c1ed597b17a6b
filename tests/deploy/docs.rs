//! docs/deployment.md shows the nginx configuration the tests run.

use crate::nginx::render;

#[test]
fn deployment_doc_reproduces_the_tested_nginx_configuration() {
    let doc = include_str!("../../docs/deployment.md");
    let shown = render(
        &["127.0.0.1:3000".to_owned(), "127.0.0.1:3001".to_owned()],
        "80",
        "60s",
    );
    assert!(
        doc.contains(&format!("```nginx\n{shown}```")),
        "docs/deployment.md must show tests/deploy/nginx.conf rendered for \
         127.0.0.1:3000 and :3001, `listen 80`, `proxy_read_timeout 60s`:\n{shown}"
    );
}

mod body;
mod future;
mod layer;
mod not_found;
#[allow(clippy::module_inception)]
mod service;

pub use body::ResponseBody;
pub use future::ResponseFuture;
pub use layer::EngineIoLayer;
pub use not_found::NotFound;
pub use service::EngineIoService;

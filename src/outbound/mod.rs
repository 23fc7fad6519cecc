//! Calls from the server to services in the cluster: a Service resolved to one of its endpoints
//! ([`resolve`]), TLS presenting the front-proxy client certificate ([`tls`]), and JSON webhook
//! calls to a URL or a Service ([`webhook`]), with the credentials a kubeconfig gives admission
//! webhooks ([`credentials`]), and the HTTPS health probes of component statuses ([`health`]).

pub mod credentials;
pub mod health;
pub mod resolve;
pub mod tls;
pub mod webhook;

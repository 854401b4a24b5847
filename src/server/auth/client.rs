//! Who is on the other end of a request: client IP (trusting `X-Forwarded-For` only from
//! configured proxies) and user agent, for sessions, rate limits and security logs.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::ConnectInfo,
    http::{Extensions, HeaderMap, header},
};

use crate::server::config::Config;

/// Longest user agent kept; the rest of a (client-controlled) header is dropped.
const USER_AGENT_MAX: usize = 256;
/// Longest request id kept (a client may send its own).
const REQUEST_ID_MAX: usize = 64;

/// The client behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// `None` when the server runs without socket information (in-process tests).
    pub ip: Option<IpAddr>,
    pub user_agent: String,
    /// The request's `x-request-id` (set by the server when the client sent none), so that an
    /// audit record can be matched with the request's log lines.
    pub request_id: String,
}

impl ClientInfo {
    /// The `tasks` command line, as the audit trail records it: one id per run.
    pub fn command_line() -> Self {
        Self {
            ip: None,
            user_agent: "tasks-cli".to_owned(),
            request_id: format!("cli-{}", uuid::Uuid::new_v4()),
        }
    }

    /// The IP as text, for storing and for rate-limit keys.
    pub fn ip_text(&self) -> String {
        self.ip
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }

    /// Reads the client from a request's headers and its socket information.
    pub fn of(headers: &HeaderMap, extensions: &Extensions, config: &Config) -> Self {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Self {
            ip: peer.map(|peer| client_ip(peer, headers, config)),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(USER_AGENT_MAX).collect())
                .unwrap_or_default(),
            request_id: headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(|id| id.chars().take(REQUEST_ID_MAX).collect())
                .unwrap_or_default(),
        }
    }
}

/// The socket peer, unless it is a trusted proxy: then the right-most `X-Forwarded-For` entry
/// that is not itself a trusted proxy. Entries to the left of that were written by the client
/// and prove nothing, so a client cannot pick its own rate-limit bucket.
fn client_ip(peer: IpAddr, headers: &HeaderMap, config: &Config) -> IpAddr {
    let trusted = |ip: &IpAddr| config.trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|entry| entry.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(proxies: &str) -> Config {
        Config::from_pairs(&[
            ("JWT_SECRET", "a-test-secret-a-test-secret-a-test-secret"),
            ("TRUSTED_PROXIES", proxies),
        ])
        .unwrap()
    }

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_header_is_ignored_from_untrusted_peers() {
        let cfg = config("");
        assert_eq!(
            client_ip(ip("203.0.113.9"), &headers("1.2.3.4"), &cfg),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn trusted_proxy_yields_the_rightmost_untrusted_address() {
        let cfg = config("10.0.0.0/8");
        // The client claims 1.2.3.4; our proxy saw 198.51.100.7 connect.
        assert_eq!(
            client_ip(
                ip("10.0.0.5"),
                &headers("1.2.3.4, 198.51.100.7, 10.0.0.2"),
                &cfg
            ),
            ip("198.51.100.7")
        );
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("10.0.0.5"), &HeaderMap::new(), &cfg),
            ip("10.0.0.5")
        );
    }
}

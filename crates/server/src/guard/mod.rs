//! The address guard: callbacks — and the provider calls of a user's element definition
//! (`TRIBUTARY_ELEMENTS_DIR`) — must not reach loopback, private, link-local, CGNAT, multicast
//! or metadata addresses, nor any other block IANA's special-purpose registries mark not
//! globally reachable, with IPv4 embedded in IPv6 unwrapped ([`special`]; issue 16 found
//! NAT64, 6to4, IPv4-compatible and reserved ranges slipping through a hand-picked list)
//! (unless `TRIBUTARY_ALLOW_PRIVATE_CALLBACKS`, or for definitions
//! `TRIBUTARY_ALLOW_PRIVATE_ORIGINS`). Host names are judged after DNS, by the resolver the
//! client connects through, so rebinding cannot slip through; IP literals skip DNS and are
//! judged before the request (callbacks: at delivery; definitions: when the folder is loaded).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

mod special;

pub use special::is_private;

/// How a host name becomes addresses (the system resolver, or a table in tests).
type Lookup = Arc<
    dyn Fn(
            String,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>,
        > + Send
        + Sync,
>;

/// Resolves hosts and drops private addresses (unless allowed), so the connection can only go
/// where the check said.
pub struct GuardedResolver {
    allow_private: bool,
    /// Whose host it is, for the refusal ("callback host", "provider host").
    what: &'static str,
    lookup: Lookup,
}

impl std::fmt::Debug for GuardedResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedResolver")
            .field("allow_private", &self.allow_private)
            .field("what", &self.what)
            .finish_non_exhaustive()
    }
}

impl GuardedResolver {
    /// The system resolver, guarded; `what` names the host in a refusal.
    pub fn system(allow_private: bool, what: &'static str) -> GuardedResolver {
        GuardedResolver {
            allow_private,
            what,
            lookup: Arc::new(|host: String| {
                Box::pin(
                    async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) },
                )
            }),
        }
    }
}

/// The addresses a host may be connected to, or why none.
fn allowed(
    what: &str,
    host: &str,
    addrs: Vec<SocketAddr>,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, String> {
    let kept: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| allow_private || !is_private(a.ip()))
        .collect();
    if kept.is_empty() {
        return Err(format!(
            "{what} {host} resolves only to private addresses (loopback, private, \
             link-local, CGNAT, multicast or metadata); refused"
        ));
    }
    Ok(kept)
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        let what = self.what;
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs = lookup(host.clone()).await?;
            let kept = allowed(what, &host, addrs, allow)?;
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The private address an IP-literal callback names, if it names one (literals skip DNS, so
/// the resolver never sees them).
pub(crate) fn private_literal(url: &reqwest::Url) -> Option<IpAddr> {
    url.host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|h| h.parse::<IpAddr>().ok())
        .filter(|ip| is_private(*ip))
}

/// Why a callback URL will be refused at delivery, if that is known without a DNS lookup (an
/// IP-literal host): said when an instance is created or changed, so the user learns it then.
/// Host names are judged at delivery, after resolution, where the attempt says why.
pub fn callback_warning(url: &str, allow_private: bool) -> Option<String> {
    if allow_private {
        return None;
    }
    let parsed = reqwest::Url::parse(url).ok()?;
    let ip = private_literal(&parsed)?;
    Some(format!(
        "event.notification.callback.url: {ip} is a private address; deliveries to it will \
         be refused (TRIBUTARY_ALLOW_PRIVATE_CALLBACKS is off)"
    ))
}

/// Why a provider URL of a user's element definition is refused, if its host is known to be
/// private without a DNS lookup: an IP literal the registries mark not globally reachable, or
/// `localhost` (RFC 6761 reserves it, and every name under it, for loopback). A definition
/// must not turn Tributary into a proxy into the private network. Host names that resolve to
/// private addresses are judged at connect time, by the guarded provider client
/// (`AppState::provider_http`).
pub fn private_origin(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?.to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    if host == "localhost" || host.ends_with(".localhost") {
        return Some(format!("{host} is loopback"));
    }
    private_literal(&parsed).map(|ip| format!("{ip} is a private address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_origins_are_told_by_literal_or_localhost() {
        for url in [
            "http://127.0.0.1:9090/api",
            "https://[::1]/token",
            "http://10.1.2.3",
            "http://169.254.169.254/latest",
            "http://LOCALHOST:8080",
            "http://api.localhost./v1",
            "http://[64:ff9b::a9fe:a9fe]/",
        ] {
            assert!(private_origin(url).is_some(), "{url} passed");
        }
        for url in [
            "https://api.infusionsoft.com/crm/rest/v1",
            "https://93.184.216.34/",
            "{{connection.instance_url}}/services",
            "not a url",
        ] {
            assert_eq!(private_origin(url), None, "{url}");
        }
    }

    #[tokio::test]
    async fn a_host_resolving_to_a_private_or_metadata_address_is_refused_after_dns() {
        use reqwest::dns::Resolve;
        use std::str::FromStr;
        let table = |host: String| -> std::pin::Pin<
            Box<dyn std::future::Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>,
        > {
            let ips: Vec<&str> = match host.as_str() {
                "internal.example" => vec!["10.0.0.1"],
                "metadata.example" => vec!["169.254.169.254"],
                "mixed.example" => vec!["10.0.0.1", "93.184.216.34"],
                _ => vec!["93.184.216.34"],
            };
            let addrs = ips
                .into_iter()
                .map(|ip| SocketAddr::new(ip.parse().unwrap(), 0))
                .collect();
            Box::pin(async move { Ok(addrs) })
        };
        let guarded = GuardedResolver {
            allow_private: false,
            what: "callback host",
            lookup: Arc::new(table),
        };
        for host in ["internal.example", "metadata.example"] {
            let error = guarded
                .resolve(reqwest::dns::Name::from_str(host).unwrap())
                .await
                .err()
                .unwrap_or_else(|| panic!("{host} was allowed"));
            assert!(error.to_string().contains("private addresses"), "{error}");
        }
        let mixed: Vec<SocketAddr> = guarded
            .resolve(reqwest::dns::Name::from_str("mixed.example").unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(
            mixed,
            [SocketAddr::new("93.184.216.34".parse().unwrap(), 0)],
            "only the public one"
        );
        let open = GuardedResolver {
            allow_private: true,
            what: "callback host",
            lookup: Arc::new(table),
        };
        assert!(
            open.resolve(reqwest::dns::Name::from_str("metadata.example").unwrap())
                .await
                .is_ok()
        );
    }

    /// The provider client of an unvouched definition connects only where the guard allows:
    /// a host that resolves to loopback is refused at connect time, with the reason, and no
    /// request reaches the server there; allowed private origins reach it.
    #[tokio::test]
    async fn a_provider_host_resolving_to_loopback_is_refused_by_the_guarded_client() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            let app = axum::Router::new().route(
                "/v1/deals",
                axum::routing::get(move || {
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    async { "[]" }
                }),
            );
            axum::serve(listener, app).await.unwrap();
        });
        let to_loopback = |_host: String| -> std::pin::Pin<
            Box<dyn std::future::Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>,
        > {
            Box::pin(async move { Ok(vec![SocketAddr::from(([127, 0, 0, 1], 0))]) })
        };
        let client = |allow_private: bool| {
            tributary_elements::http::guarded_provider_client(
                std::time::Duration::from_secs(5),
                Arc::new(GuardedResolver {
                    allow_private,
                    what: "provider host",
                    lookup: Arc::new(to_loopback),
                }),
            )
            .unwrap()
        };
        let url = format!("http://api.ledgerly.example:{port}/v1/deals");
        let error = client(false).get(&url).send().await.unwrap_err();
        let chain =
            std::iter::successors(Some(&error as &(dyn std::error::Error + 'static)), |e| {
                e.source()
            })
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(": ");
        assert!(
            chain.contains("provider host api.ledgerly.example resolves only to private addresses"),
            "{chain}"
        );
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);

        let answer = client(true).get(&url).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn private_and_metadata_addresses_are_recognized() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "100.128.0.1", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn an_ip_literal_callback_is_warned_about_and_a_host_name_is_not() {
        assert!(callback_warning("http://10.0.0.1/cb", false).is_some());
        assert!(callback_warning("http://[::1]:8080/cb", false).is_some());
        assert!(callback_warning("http://10.0.0.1/cb", true).is_none());
        assert!(callback_warning("https://receiver.example/cb", false).is_none());
    }
}

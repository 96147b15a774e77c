//! Name resolution for every connection the HTTP client makes: `--resolve` overrides first,
//! then the system resolver; and the private-address rule applied to the answer at the moment
//! of connecting. Checking there, rather than before the request, means a name that answers
//! with a public address when looked at and a private one when connected to (DNS rebinding)
//! cannot get around the rule: the addresses checked are the addresses connected to.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::address::AddressClass;

/// `--resolve` entries: a host name (lower case) and the addresses it stands for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides(HashMap<String, Vec<IpAddr>>);

impl Overrides {
    /// Overrides from `(host, addresses)` pairs; a host given twice keeps every address.
    pub fn new(entries: impl IntoIterator<Item = (String, Vec<IpAddr>)>) -> Self {
        let mut map: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for (host, addrs) in entries {
            map.entry(host.to_ascii_lowercase()).or_default().extend(addrs);
        }
        Self(map)
    }

    /// The addresses `host` resolves to: the override, or the system resolver's answer.
    pub async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        if let Some(addrs) = self.0.get(&host.to_ascii_lowercase()) {
            return Ok(addrs.clone());
        }
        let found = tokio::net::lookup_host((host, 0)).await?;
        Ok(found.map(|addr| addr.ip()).collect())
    }
}

/// A redirect refused because its target is more private than the link's own address.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{target} is {}{class} address ({addr}), more private than the link's own ({own}); --allow-private allows it",
    article(*class)
)]
pub struct PrivateAddress {
    /// The host name or address literal the redirect led to.
    pub target: String,
    /// The address refused.
    pub addr: IpAddr,
    /// Its class.
    pub class: AddressClass,
    /// The class of the link's own address.
    pub own: AddressClass,
}

impl PrivateAddress {
    /// The refusal for `addr` under a link of class `own`, or `None` when it may be reached.
    pub fn check(target: &str, addr: IpAddr, own: AddressClass) -> Option<Self> {
        let class = AddressClass::of(addr);
        (!own.may_reach(class)).then(|| Self {
            target: target.to_owned(),
            addr,
            class,
            own,
        })
    }
}

/// "a" or "an" before a class name.
fn article(class: AddressClass) -> &'static str {
    match class {
        AddressClass::Unspecified => "an ",
        _ => "a ",
    }
}

/// The resolver handed to a client: overrides, then the system; with a ceiling, addresses more
/// private than it are dropped, and a name left with none fails with [`PrivateAddress`].
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    overrides: Arc<Overrides>,
    /// The link's own class, for a client that follows redirects; `None` allows everything.
    ceiling: Option<AddressClass>,
    /// Proxy hosts: a connection to the proxy is not a hop of any link.
    exempt: Arc<Vec<String>>,
}

impl GuardedResolver {
    /// A resolver for `overrides` that enforces `ceiling` on every name but the `exempt` ones.
    pub fn new(overrides: Arc<Overrides>, ceiling: Option<AddressClass>, exempt: Arc<Vec<String>>) -> Self {
        Self {
            overrides,
            ceiling,
            exempt,
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = this.overrides.lookup(&host).await?;
            let ceiling = this
                .ceiling
                .filter(|_| !this.exempt.iter().any(|h| h.eq_ignore_ascii_case(&host)));
            let Some(own) = ceiling else {
                return Ok(socket_addrs(addrs));
            };
            // A name with a public and a private address keeps the public one: only addresses
            // the rule allows are ever connected to.
            let (allowed, refused): (Vec<IpAddr>, Vec<IpAddr>) =
                addrs.iter().partition(|ip| own.may_reach(AddressClass::of(**ip)));
            match refused.first() {
                Some(&addr) if allowed.is_empty() => {
                    let refusal = PrivateAddress::check(&host, addr, own).expect("the address was refused");
                    Err(Box::new(refusal) as Box<dyn std::error::Error + Send + Sync>)
                }
                _ => Ok(socket_addrs(allowed)),
            }
        })
    }
}

/// Addresses with port 0, which the connector replaces with the URL's port.
fn socket_addrs(addrs: Vec<IpAddr>) -> Addrs {
    Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)))
}

/// The [`PrivateAddress`] refusal somewhere in an error's chain of causes.
pub fn refusal<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a PrivateAddress> {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(refused) = e.downcast_ref::<PrivateAddress>() {
            return Some(refused);
        }
        cause = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(ceiling: Option<AddressClass>) -> GuardedResolver {
        let overrides = Overrides::new([
            ("metadata.test".to_owned(), vec!["169.254.169.254".parse().unwrap()]),
            (
                "mixed.test".to_owned(),
                vec!["127.0.0.1".parse().unwrap(), "93.184.216.34".parse().unwrap()],
            ),
            ("proxy.test".to_owned(), vec!["127.0.0.1".parse().unwrap()]),
        ]);
        GuardedResolver::new(Arc::new(overrides), ceiling, Arc::new(vec!["proxy.test".into()]))
    }

    async fn resolve(r: &GuardedResolver, host: &str) -> Result<Vec<SocketAddr>, String> {
        match r.resolve(host.parse().unwrap()).await {
            Ok(addrs) => Ok(addrs.collect()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[tokio::test]
    async fn overrides_answer_and_the_ceiling_refuses_deeper_addresses() {
        let open = resolver(None);
        assert_eq!(
            resolve(&open, "METADATA.test").await.unwrap(),
            ["169.254.169.254:0".parse().unwrap()]
        );

        let loopback = resolver(Some(AddressClass::Loopback));
        let err = resolve(&loopback, "metadata.test").await.unwrap_err();
        assert_eq!(
            err,
            "metadata.test is a link-local address (169.254.169.254), more private than the link's own \
             (loopback); --allow-private allows it"
        );
        // The public address of a mixed answer is kept; the loopback one is never connected to.
        let public = resolver(Some(AddressClass::Public));
        assert_eq!(
            resolve(&public, "mixed.test").await.unwrap(),
            ["93.184.216.34:0".parse().unwrap()]
        );
        // The proxy is not a hop.
        assert_eq!(
            resolve(&public, "proxy.test").await.unwrap(),
            ["127.0.0.1:0".parse().unwrap()]
        );
    }

    #[test]
    fn a_refusal_is_found_among_the_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("client error (Connect)")]
        struct Wrapper(#[source] PrivateAddress);
        let refused = PrivateAddress::check("x.test", "10.0.0.1".parse().unwrap(), AddressClass::Public).unwrap();
        let wrapped = Wrapper(refused);
        assert_eq!(refusal(&wrapped).unwrap().class, AddressClass::Private);
        assert!(PrivateAddress::check("x.test", "10.0.0.1".parse().unwrap(), AddressClass::Private).is_none());
    }
}

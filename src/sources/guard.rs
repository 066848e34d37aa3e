//! Sources → fetch, the guard: where a request may go. A source owns its
//! origin (scheme, host and port; http → https on the same host is an
//! upgrade, not a move) and the hosts its `allow_hosts` lists; redirects and
//! followed links stay there. Independently, no request ever reaches a
//! link-local or cloud metadata address, and only a source whose own URL is
//! on a loopback or private address may reach such addresses (the demo and
//! the tests serve fixtures on 127.0.0.1). The address rule is checked on the
//! resolved IP, in the client's resolver ([`GuardedResolver`]), so a name
//! that resolves elsewhere the second time (DNS rebinding) cannot pass; IP
//! literals never reach a resolver and are checked by [`Scope::check`].

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// What an IP address is, as far as fetching goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrClass {
    /// Reachable on the internet.
    Public,
    /// This machine or its network: loopback, private, shared (CGNAT),
    /// unspecified, reserved.
    Local,
    /// Link-local (where clouds answer with credentials), the EC2 IPv6
    /// metadata address, multicast and broadcast: never fetched.
    Forbidden,
}

/// The class of an address; IPv4 inside IPv6 (mapped, NAT64, 6to4) is
/// judged by the IPv4 address it carries.
pub fn classify_ip(ip: IpAddr) -> AddrClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddrClass {
    let [a, b, c, _] = ip.octets();
    if ip.is_link_local() || ip.is_multicast() || ip.is_broadcast() {
        return AddrClass::Forbidden;
    }
    let local = ip.is_loopback()
        || ip.is_private()
        || a == 0 // "this network": 0.0.0.0 reaches this machine
        || (a == 100 && (b & 0xc0) == 64) // shared address space, 100.64/10 (cloud metadata lives here too)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b & 0xfe) == 18) // benchmarking, 198.18/15
        || a >= 240; // reserved
    if local { AddrClass::Local } else { AddrClass::Public }
}

fn classify_v6(ip: Ipv6Addr) -> AddrClass {
    let s = ip.segments();
    if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
        return AddrClass::Forbidden;
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return classify_v4(embedded(s[6], s[7])); // NAT64
    }
    if s[0] == 0x2002 {
        return classify_v4(embedded(s[1], s[2])); // 6to4
    }
    if (s[0] & 0xffc0) == 0xfe80 || ip.is_multicast() {
        return AddrClass::Forbidden;
    }
    let local = ip.is_loopback()
        || ip.is_unspecified()
        || (s[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || (s[0] == 0x0064 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64, 64:ff9b:1::/48
        || (s[..6] == [0, 0, 0, 0, 0, 0]); // IPv4-compatible (deprecated)
    if local { AddrClass::Local } else { AddrClass::Public }
}

/// Why a request was not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("adressen ligger utanför källans webbplats {origin} och de värdar källan anger i allow_hosts")]
    Offsite { origin: String },
    #[error("bara http och https hämtas, inte «{0}»")]
    Scheme(String),
    #[error("{0} är en länklokal adress eller molnets metadataadress och hämtas aldrig")]
    Forbidden(IpAddr),
    #[error("{0} är en lokal eller privat adress; bara en källa vars egen adress är lokal hämtar där")]
    Local(IpAddr),
}

/// A host a source lists in `allow_hosts`: `host` (http and https on their
/// default ports) or `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    host: String,
    port: Option<u16>,
}

impl AllowedHost {
    /// Read `www.esf.se`, `[::1]:8080`, `127.0.0.1:8081`; no scheme, path or user.
    pub fn parse(s: &str) -> Result<AllowedHost, String> {
        let s = s.trim();
        let bad = || format!("«{s}» ska vara ett värdnamn, ev. med :port (t.ex. www.esf.se)");
        if s.is_empty() || s.contains(['/', '@', '?', '#']) {
            return Err(bad());
        }
        let url = Url::parse(&format!("http://{s}/")).map_err(|_| bad())?;
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(bad)?.to_string();
        if let Some(ip) = host_ip(&url).filter(|ip| classify_ip(*ip) == AddrClass::Forbidden) {
            return Err(Refusal::Forbidden(ip).to_string());
        }
        Ok(AllowedHost { host, port: url.port() })
    }

    fn admits(&self, url: &Url) -> bool {
        let Some(port) = url.port_or_known_default() else { return false };
        url.host_str() == Some(self.host.as_str()) && self.port.map_or(url.port().is_none(), |p| p == port)
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

impl serde::Serialize for AllowedHost {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Where one source's requests may go (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    scheme: String,
    host: String,
    port: u16,
    allow: Vec<AllowedHost>,
    local_ok: bool,
}

impl Scope {
    /// The scope of a source configured at `url` that also owns `allow`.
    pub fn new(url: &Url, allow: Vec<AllowedHost>) -> Scope {
        let host = url.host_str().unwrap_or("");
        let local_ok = match host_ip(url) {
            Some(ip) => classify_ip(ip) == AddrClass::Local,
            None => host == "localhost" || host.ends_with(".localhost"),
        };
        Scope { scheme: url.scheme().to_string(), host: host.to_string(), port: url.port_or_known_default().unwrap_or(0), allow, local_ok }
    }

    /// Whether loopback and private addresses may be reached: only when the
    /// source's own URL is on one.
    pub fn local_ok(&self) -> bool {
        self.local_ok
    }

    /// May `url` be fetched for this source? A forbidden address first (the
    /// most telling reason), then the origin, then (for an IP literal, which
    /// no resolver sees) the address rule.
    pub fn check(&self, url: &Url) -> Result<(), Refusal> {
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(Refusal::Scheme(url.scheme().to_string()));
        }
        let ip = host_ip(url);
        if let Some(ip) = ip.filter(|ip| classify_ip(*ip) == AddrClass::Forbidden) {
            return Err(Refusal::Forbidden(ip));
        }
        if !self.owns(url) {
            return Err(Refusal::Offsite { origin: self.origin() });
        }
        ip.map_or(Ok(()), |ip| check_address(ip, self.local_ok))
    }

    fn owns(&self, url: &Url) -> bool {
        let port = url.port_or_known_default().unwrap_or(0);
        let same_host = url.host_str() == Some(self.host.as_str());
        let same_origin = same_host && url.scheme() == self.scheme && port == self.port;
        let upgrade = same_host && self.scheme == "http" && url.scheme() == "https" && (port == 443 || port == self.port);
        same_origin || upgrade || self.allow.iter().any(|a| a.admits(url))
    }

    fn origin(&self) -> String {
        let default = (self.scheme == "http" && self.port == 80) || (self.scheme == "https" && self.port == 443);
        if default { format!("{}://{}", self.scheme, self.host) } else { format!("{}://{}:{}", self.scheme, self.host, self.port) }
    }
}

/// The address rule alone.
pub fn check_address(ip: IpAddr, local_ok: bool) -> Result<(), Refusal> {
    match classify_ip(ip) {
        AddrClass::Public => Ok(()),
        AddrClass::Local if local_ok => Ok(()),
        AddrClass::Local => Err(Refusal::Local(ip)),
        AddrClass::Forbidden => Err(Refusal::Forbidden(ip)),
    }
}

/// The IP of a URL whose host is an IP literal (the URL parser has already
/// normalised forms such as `http://2130706433/`).
pub fn host_ip(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host).parse().ok()
}

/// The resolver a client uses: the system's, keeping only the addresses the
/// address rule admits. A name with none left fails with [`AddressRefused`].
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub local_ok: bool,
}

/// A name resolved only to addresses the rule refuses.
#[derive(Debug, thiserror::Error)]
#[error("{host}: {refusal}")]
pub struct AddressRefused {
    pub host: String,
    pub refusal: Refusal,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let local_ok = self.local_ok;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let mut admitted = Vec::with_capacity(found.len());
            for addr in found {
                match check_address(addr.ip(), local_ok) {
                    Ok(()) => admitted.push(addr),
                    Err(r) => refusal = Some(r),
                }
            }
            match (admitted.is_empty(), refusal) {
                (true, Some(refusal)) => Err(Box::new(AddressRefused { host, refusal }) as Box<dyn std::error::Error + Send + Sync>),
                _ => Ok(Box::new(admitted.into_iter()) as Addrs),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> AddrClass {
        classify_ip(s.parse().unwrap())
    }

    #[test]
    fn addresses_by_class() {
        for ip in [
            "169.254.169.254",
            "169.254.0.1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "224.0.0.1",
            "255.255.255.255",
            "ff02::1",
        ] {
            assert_eq!(class(ip), AddrClass::Forbidden, "{ip}");
        }
        for ip in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "0.0.0.0",
            "100.100.100.200",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.1.1",
            "2002:7f00:1::",
            "::127.0.0.1",
        ] {
            assert_eq!(class(ip), AddrClass::Local, "{ip}");
        }
        for ip in ["93.184.216.34", "172.32.0.1", "192.169.0.1", "2a00:1450:4001::1", "::ffff:8.8.8.8", "100.128.0.1"] {
            assert_eq!(class(ip), AddrClass::Public, "{ip}");
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn a_source_owns_its_origin_an_https_upgrade_and_its_allowed_hosts() {
        let scope = Scope::new(&url("http://www.esf.se/utlysningar/"), vec![AllowedHost::parse("eufunds.example").unwrap()]);
        assert_eq!(scope.check(&url("http://www.esf.se/u/1")), Ok(()));
        assert_eq!(scope.check(&url("https://www.esf.se/u/1")), Ok(()), "upgrade");
        assert_eq!(scope.check(&url("https://eufunds.example/x")), Ok(()));
        assert!(
            matches!(scope.check(&url("https://eufunds.example:8443/x")), Err(Refusal::Offsite { .. })),
            "a listed host on its default ports only"
        );
        assert!(matches!(scope.check(&url("http://www.esf.se:8080/")), Err(Refusal::Offsite { .. })));
        assert!(matches!(scope.check(&url("http://evil.example/")), Err(Refusal::Offsite { .. })));
        assert!(matches!(scope.check(&url("ftp://www.esf.se/")), Err(Refusal::Scheme(_))));
        let https = Scope::new(&url("https://www.esf.se/"), vec![]);
        assert!(matches!(https.check(&url("http://www.esf.se/")), Err(Refusal::Offsite { .. })), "no downgrade");
        let e = scope.check(&url("http://other.example/")).unwrap_err().to_string();
        assert!(e.contains("http://www.esf.se") && e.contains("allow_hosts"), "{e}");
    }

    #[test]
    fn loopback_only_for_a_source_on_loopback_and_metadata_never() {
        let local = Scope::new(&url("http://127.0.0.1:8080/lista"), vec![AllowedHost::parse("127.0.0.1:9090").unwrap()]);
        assert!(local.local_ok());
        assert_eq!(local.check(&url("http://127.0.0.1:8080/d/1")), Ok(()));
        assert_eq!(local.check(&url("http://127.0.0.1:9090/d/1")), Ok(()));
        assert!(matches!(local.check(&url("http://127.0.0.1:9091/")), Err(Refusal::Offsite { .. })), "another port");
        let meta = Scope::new(&url("http://127.0.0.1:8080/"), vec![AllowedHost { host: "169.254.169.254".into(), port: None }]);
        assert!(matches!(meta.check(&url("http://169.254.169.254/latest/meta-data/")), Err(Refusal::Forbidden(_))), "allowed host or not");
        // Other spellings of the same address are normalised by the URL parser first.
        let any = Scope::new(&url("http://127.0.0.1/"), vec![AllowedHost { host: "169.254.169.254".into(), port: None }]);
        assert!(matches!(any.check(&url("http://2852039166/")), Err(Refusal::Forbidden(_))));
        assert!(matches!(any.check(&url("http://[::ffff:a9fe:a9fe]/")), Err(Refusal::Forbidden(_))));
        let public = Scope::new(&url("https://www.esf.se/"), vec![AllowedHost::parse("10.0.0.5").unwrap()]);
        assert!(!public.local_ok());
        assert!(matches!(public.check(&url("https://10.0.0.5/")), Err(Refusal::Local(_))), "allow_hosts does not open private addresses");
        assert!(Scope::new(&url("http://localhost:3000/"), vec![]).local_ok());
        assert!(!Scope::new(&url("http://localhost.evil.example/"), vec![]).local_ok());
    }

    #[test]
    fn allow_hosts_entries() {
        assert_eq!(AllowedHost::parse("WWW.Esf.se").unwrap().to_string(), "www.esf.se");
        assert_eq!(AllowedHost::parse("127.0.0.1:8081").unwrap().to_string(), "127.0.0.1:8081");
        assert_eq!(AllowedHost::parse("[::1]:8081").unwrap().to_string(), "[::1]:8081");
        for bad in ["", "https://www.esf.se", "www.esf.se/utlysningar", "user@host", "host:notaport"] {
            assert!(AllowedHost::parse(bad).is_err(), "{bad}");
        }
        assert!(AllowedHost::parse("169.254.169.254").unwrap_err().contains("metadata"));
    }

    #[tokio::test]
    async fn the_resolver_drops_refused_addresses() {
        let strict = GuardedResolver { local_ok: false };
        let e = match strict.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e,
        };
        let refused = e.downcast_ref::<AddressRefused>().expect("AddressRefused");
        assert!(matches!(refused.refusal, Refusal::Local(_)), "{refused}");
        let local = GuardedResolver { local_ok: true };
        let addrs: Vec<SocketAddr> = local.resolve("localhost".parse().unwrap()).await.ok().unwrap().collect();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()));
    }
}

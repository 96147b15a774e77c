//! How private an IP address is: the classes of the private-address rule.
//!
//! A redirect may not lead into a more private class than the link's own (SPEC, network
//! options, `--allow-private`): a public page cannot send linkkeep to the cloud metadata
//! service at 169.254.169.254, to a router on 192.168.0.1 or to a database on 127.0.0.1.
//! Every spelling of an address counts: the URL parser already turns `0xA9FEA9FE` and
//! `2852039166` into `169.254.169.254`, and the IPv6 forms that carry an IPv4 address
//! (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are classified by the address they carry.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The class of an address, from the open internet inward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// Reachable from the internet.
    Public,
    /// RFC 1918 and the other IPv4 ranges that are not globally reachable (shared address
    /// space, documentation, benchmarking, reserved).
    Private,
    /// IPv6 unique-local (`fc00::/7`), site-local and documentation ranges.
    UniqueLocal,
    /// This machine: `127.0.0.0/8`, `::1`.
    Loopback,
    /// `0.0.0.0/8`, `::`: connecting to it reaches this machine on Linux.
    Unspecified,
    /// `169.254.0.0/16`, `fe80::/10`: cloud metadata services live here.
    LinkLocal,
    /// Multicast and broadcast.
    Multicast,
}

impl AddressClass {
    /// The class of `ip`.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::of_v4(v4),
            IpAddr::V6(v6) => Self::of_v6(v6),
        }
    }

    fn of_v4(ip: Ipv4Addr) -> Self {
        let [a, b, c, _] = ip.octets();
        match (a, b, c) {
            (0, ..) => Self::Unspecified,
            (127, ..) => Self::Loopback,
            (169, 254, _) => Self::LinkLocal,
            _ if ip.is_broadcast() || ip.is_multicast() => Self::Multicast,
            (10, ..) | (192, 168, _) => Self::Private,
            (172, 16..=31, _) => Self::Private,
            // Shared address space (carrier-grade NAT).
            (100, 64..=127, _) => Self::Private,
            // IETF protocol assignments, documentation, benchmarking.
            (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) | (198, 18..=19, _) => Self::Private,
            // Reserved for future use.
            (240..=255, ..) => Self::Private,
            _ => Self::Public,
        }
    }

    fn of_v6(ip: Ipv6Addr) -> Self {
        if ip.is_unspecified() {
            return Self::Unspecified;
        }
        if ip.is_loopback() {
            return Self::Loopback;
        }
        if let Some(v4) = embedded_v4(ip) {
            return Self::of_v4(v4);
        }
        let s = ip.segments();
        match s[0] {
            0xfe80..=0xfebf => Self::LinkLocal,
            // Site-local (deprecated, still routed inside some networks).
            0xfec0..=0xfeff => Self::UniqueLocal,
            0xfc00..=0xfdff => Self::UniqueLocal,
            0xff00..=0xffff => Self::Multicast,
            // Documentation.
            0x2001 if s[1] == 0x0db8 => Self::UniqueLocal,
            // Discard-only (100::/64).
            0x0100 if s[1..4] == [0, 0, 0] => Self::UniqueLocal,
            _ => Self::Public,
        }
    }

    /// How far inward the class is: a redirect may not raise it above the link's own.
    fn depth(self) -> u8 {
        match self {
            Self::Public => 0,
            Self::Private | Self::UniqueLocal => 1,
            Self::Loopback | Self::Unspecified => 2,
            Self::LinkLocal | Self::Multicast => 3,
        }
    }

    /// Whether a link whose own address is of this class may be redirected to `target`.
    pub fn may_reach(self, target: Self) -> bool {
        target.depth() <= self.depth()
    }

    /// The class names a ceiling: the least private class whose depth is `depth`.
    fn at_depth(depth: u8) -> Self {
        match depth {
            0 => Self::Public,
            1 => Self::Private,
            2 => Self::Loopback,
            _ => Self::LinkLocal,
        }
    }

    /// The ceilings a client can be built for, from the most restrictive; the last one
    /// allows everything, as a client without a ceiling does.
    pub const CEILINGS: [Self; 4] = [Self::Public, Self::Private, Self::Loopback, Self::LinkLocal];

    /// The index of this class's ceiling in [`Self::CEILINGS`].
    pub fn ceiling_index(self) -> usize {
        usize::from(self.depth())
    }

    /// The ceiling of a link whose name resolves to all of `classes`: the least private one,
    /// so that a redirect never reaches deeper than the most public address the link has.
    pub fn least_private(classes: impl IntoIterator<Item = Self>) -> Option<Self> {
        classes.into_iter().map(Self::depth).min().map(Self::at_depth)
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Public => "public",
            Self::Private => "private",
            Self::UniqueLocal => "unique-local",
            Self::Loopback => "loopback",
            Self::Unspecified => "unspecified",
            Self::LinkLocal => "link-local",
            Self::Multicast => "multicast",
        })
    }
}

/// The IPv4 address an IPv6 address carries, for the forms a connection really reaches it by:
/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`,
/// `64:ff9b:1::/48`) and 6to4 (`2002:AABB:CCDD::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // `::` and `::1` were handled before; anything else in ::/96 is IPv4-compatible.
        [0, 0, 0, 0, 0, 0, ..] => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => Some(low),
        [0x64, 0xff9b, 1, ..] => Some(low),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(text: &str) -> AddressClass {
        AddressClass::of(text.parse().unwrap())
    }

    #[test]
    fn ipv4_classes() {
        assert_eq!(class("93.184.216.34"), AddressClass::Public);
        assert_eq!(class("8.8.8.8"), AddressClass::Public);
        for private in [
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "192.0.2.2",
        ] {
            assert_eq!(class(private), AddressClass::Private, "{private}");
        }
        assert_eq!(class("172.32.0.1"), AddressClass::Public);
        assert_eq!(class("127.0.0.1"), AddressClass::Loopback);
        assert_eq!(class("127.255.0.9"), AddressClass::Loopback);
        assert_eq!(class("0.0.0.0"), AddressClass::Unspecified);
        assert_eq!(class("169.254.169.254"), AddressClass::LinkLocal);
        assert_eq!(class("224.0.0.1"), AddressClass::Multicast);
        assert_eq!(class("255.255.255.255"), AddressClass::Multicast);
    }

    #[test]
    fn ipv6_classes_and_the_ipv4_they_carry() {
        assert_eq!(class("2606:2800:220:1::1"), AddressClass::Public);
        assert_eq!(class("::1"), AddressClass::Loopback);
        assert_eq!(class("::"), AddressClass::Unspecified);
        assert_eq!(class("fe80::1"), AddressClass::LinkLocal);
        assert_eq!(class("fd00::2"), AddressClass::UniqueLocal);
        assert_eq!(class("ff02::1"), AddressClass::Multicast);
        assert_eq!(class("2001:db8::1"), AddressClass::UniqueLocal);
        // The metadata service, spelt five ways.
        for spelling in [
            "::ffff:169.254.169.254",
            "::ffff:a9fe:a9fe",
            "::169.254.169.254",
            "64:ff9b::169.254.169.254",
            "2002:a9fe:a9fe::1",
        ] {
            assert_eq!(class(spelling), AddressClass::LinkLocal, "{spelling}");
        }
        assert_eq!(class("::ffff:127.0.0.1"), AddressClass::Loopback);
        assert_eq!(class("::ffff:8.8.8.8"), AddressClass::Public);
    }

    #[test]
    fn url_spellings_of_an_address_are_normalised_before_they_reach_the_classes() {
        for spelling in [
            "http://0xA9FEA9FE/",
            "http://2852039166/",
            "http://0251.0376.0251.0376/",
            "http://169.254.43518/",
        ] {
            let url = url::Url::parse(spelling).unwrap();
            assert_eq!(url.host_str(), Some("169.254.169.254"), "{spelling}");
        }
    }

    #[test]
    fn a_redirect_may_not_go_deeper_than_its_link() {
        use AddressClass::*;
        assert!(!Public.may_reach(Private));
        assert!(!Public.may_reach(UniqueLocal));
        assert!(!Public.may_reach(Loopback));
        assert!(!Public.may_reach(LinkLocal));
        assert!(!Public.may_reach(Unspecified));
        assert!(!Public.may_reach(Multicast));
        assert!(!Private.may_reach(Loopback));
        assert!(!Private.may_reach(LinkLocal));
        assert!(!Loopback.may_reach(LinkLocal));
        assert!(Loopback.may_reach(Loopback));
        assert!(Loopback.may_reach(Public));
        assert!(Private.may_reach(UniqueLocal));
        assert!(LinkLocal.may_reach(Loopback));
    }

    #[test]
    fn ceilings() {
        use AddressClass::*;
        assert_eq!(AddressClass::least_private([Loopback, Public]), Some(Public));
        assert_eq!(AddressClass::least_private([LinkLocal, UniqueLocal]), Some(Private));
        assert_eq!(AddressClass::least_private([]), None);
        for class in [
            Public,
            Private,
            UniqueLocal,
            Loopback,
            Unspecified,
            LinkLocal,
            Multicast,
        ] {
            let ceiling = AddressClass::CEILINGS[class.ceiling_index()];
            assert!(ceiling.may_reach(class) && class.may_reach(ceiling), "{class}");
        }
    }
}

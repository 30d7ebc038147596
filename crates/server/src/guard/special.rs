//! Which addresses a public callback may reach, judged by IANA's special-purpose address
//! registries (IPv4: `iana-ipv4-special-registry`; IPv6: `iana-ipv6-special-registry`, plus
//! the address-space registry: only `2000::/3` is global unicast) rather than by a hand-picked
//! few ranges. Addresses that embed an IPv4 address are unwrapped and judged by it:
//! IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64's well-known prefix
//! (`64:ff9b::/96`), 6to4 (`2002:AABB:CCDD::/48`) and Teredo (`2001:0::/32`, the client
//! address inverted in the last 32 bits; its server in bits 32–63) — so
//! `[64:ff9b::a9fe:a9fe]` is the metadata address it carries.
//!
//! Why a table of our own: the std predicates (`is_global`) are unstable, and no small
//! maintained crate covers the embedded forms; the registries change rarely and each row here
//! names its entry.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether a callback must not reach `ip`: every block the registries mark not globally
/// reachable, multicast, reserved, and IPv6 outside global unicast.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_special(v4),
        IpAddr::V6(v6) => v6_special(v6),
    }
}

/// `(network, prefix length)` of an IPv4 block.
const V4_BLOCKS: &[([u8; 4], u8)] = &[
    ([0, 0, 0, 0], 8),       // "this network" (RFC 791)
    ([10, 0, 0, 0], 8),      // private-use (RFC 1918)
    ([100, 64, 0, 0], 10),   // shared address space, CGNAT (RFC 6598)
    ([127, 0, 0, 0], 8),     // loopback (RFC 1122)
    ([169, 254, 0, 0], 16),  // link-local, the metadata address (RFC 3927)
    ([172, 16, 0, 0], 12),   // private-use (RFC 1918)
    ([192, 0, 0, 0], 24),    // IETF protocol assignments (RFC 6890), but see V4_GLOBAL
    ([192, 0, 2, 0], 24),    // documentation TEST-NET-1 (RFC 5737)
    ([192, 88, 99, 0], 24),  // 6to4 relay anycast, deprecated (RFC 7526)
    ([192, 168, 0, 0], 16),  // private-use (RFC 1918)
    ([198, 18, 0, 0], 15),   // benchmarking (RFC 2544)
    ([198, 51, 100, 0], 24), // documentation TEST-NET-2 (RFC 5737)
    ([203, 0, 113, 0], 24),  // documentation TEST-NET-3 (RFC 5737)
    ([224, 0, 0, 0], 4),     // multicast (RFC 5771)
    ([240, 0, 0, 0], 4),     // reserved (RFC 1112), and the limited broadcast inside it
];

/// Addresses inside a block above that the registry marks globally reachable.
const V4_GLOBAL: &[[u8; 4]] = &[
    [192, 0, 0, 9],  // Port Control Protocol anycast (RFC 7723)
    [192, 0, 0, 10], // TURN relay anycast (RFC 8155)
];

fn v4_special(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    if V4_GLOBAL
        .iter()
        .any(|g| u32::from(Ipv4Addr::from(*g)) == bits)
    {
        return false;
    }
    V4_BLOCKS
        .iter()
        .any(|(net, len)| within(bits, u32::from(Ipv4Addr::from(*net)), *len))
}

fn within(bits: u32, net: u32, len: u8) -> bool {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    bits & mask == net & mask
}

fn within6(bits: u128, net: u128, len: u8) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    bits & mask == net & mask
}

/// `(network, prefix length)` of an IPv6 block inside `2000::/3` that is not globally
/// reachable (the blocks outside `2000::/3` are refused wholesale).
const V6_BLOCKS: &[(u128, u8)] = &[
    (0x2001_0000_0000_0000_0000_0000_0000_0000, 23), // IETF protocol assignments (RFC 2928), but see V6_GLOBAL
    (0x2001_0db8_0000_0000_0000_0000_0000_0000, 32), // documentation (RFC 3849)
    (0x3fff_0000_0000_0000_0000_0000_0000_0000, 20), // documentation (RFC 9637)
    (0x5f00_0000_0000_0000_0000_0000_0000_0000, 16), // segment routing SIDs (RFC 9602)
];

/// Blocks inside `2001::/23` the registry marks globally reachable.
const V6_GLOBAL: &[(u128, u8)] = &[
    (0x2001_0001_0000_0000_0000_0000_0000_0001, 128), // port control anycast (RFC 7723)
    (0x2001_0001_0000_0000_0000_0000_0000_0002, 128), // TURN relay anycast (RFC 8155)
    (0x2001_0001_0000_0000_0000_0000_0000_0003, 128), // DNS-SD service registration (RFC 9665)
    (0x2001_0003_0000_0000_0000_0000_0000_0000, 32),  // AMT (RFC 7450)
    (0x2001_0004_0112_0000_0000_0000_0000_0000, 48),  // AS112-v6 (RFC 7535)
    (0x2001_0020_0000_0000_0000_0000_0000_0000, 28),  // ORCHIDv2 (RFC 7343)
    (0x2001_0030_0000_0000_0000_0000_0000_0000, 28),  // drone remote ID (RFC 9374)
];

fn v6_special(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return v4.iter().any(|v4| v4_special(*v4));
    }
    let bits = u128::from(ip);
    // Outside global unicast: ::/128, ::1, 100::/64 (discard), 64:ff9b:1::/48 (local
    // translation), fc00::/7 (unique local), fe80::/10 (link-local), fec0::/10 (site-local,
    // deprecated), ff00::/8 (multicast) and everything unassigned.
    if !within6(bits, 0x2000 << 112, 3) {
        return true;
    }
    if V6_GLOBAL.iter().any(|(net, len)| within6(bits, *net, *len)) {
        return false;
    }
    V6_BLOCKS.iter().any(|(net, len)| within6(bits, *net, *len))
}

/// The IPv4 addresses an IPv6 address carries, if it is one of the forms that embed one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Vec<Ipv4Addr>> {
    let bits = u128::from(ip);
    let low32 = Ipv4Addr::from(bits as u32);
    // IPv4-mapped ::ffff:0:0/96 and NAT64's well-known prefix 64:ff9b::/96.
    if within6(bits, 0xffff_0000_0000, 96) || within6(bits, 0x64_ff9b << 96, 96) {
        return Some(vec![low32]);
    }
    // IPv4-compatible ::/96, deprecated; `::` and `::1` are themselves (unspecified, loopback).
    if within6(bits, 0, 96) && bits > 1 {
        return Some(vec![low32]);
    }
    // 6to4 2002::/16: the IPv4 address in bits 16–47.
    if within6(bits, 0x2002 << 112, 16) {
        return Some(vec![Ipv4Addr::from((bits >> 80) as u32)]);
    }
    // Teredo 2001:0::/32: the server in bits 32–63, the client inverted in the last 32 bits.
    if within6(bits, 0x2001 << 112, 32) {
        return Some(vec![
            Ipv4Addr::from((bits >> 64) as u32),
            Ipv4Addr::from(!(bits as u32)),
        ]);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_purpose_addresses_are_refused_and_embedded_ipv4_is_unwrapped() {
        for ip in [
            // IPv4 special-purpose registry
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.5.4",
            "172.31.255.255",
            "192.0.0.170",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            // IPv6
            "::",
            "::1",
            "fd00::1",
            "fc00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "100::1",
            "64:ff9b:1::1",
            "2001:db8::1",
            "2001:2::1",
            "2001:10::1",
            "3fff::1",
            "5f00::1",
            // embedded IPv4, unwrapped
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::a9fe:a9fe",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::10.1.2.3",
            "2002:a9fe:a9fe::1",
            "2002:7f00:1::",
            "2001:0:4136:e378:8000:63bf:f5ff:fffe", // Teredo, client 10.0.0.1
            "2001:0:a00:1::1",                      // Teredo, server 10.0.0.1
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip} is refused");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "1.1.1.1",
            "100.128.0.1",
            "172.32.0.1",
            "192.0.0.9",
            "192.0.1.1",
            "198.20.0.1",
            "223.255.255.254",
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "2001:4:112::1",
            "2001:20::1",
            "2001:1::1",
            "64:ff9b::808:808", // NAT64 of 8.8.8.8
            "::ffff:93.184.216.34",
            "2002:5db8:d822::1",                    // 6to4 of 93.184.216.34
            "2001:0:4136:e378:8000:63bf:a247:27dd", // Teredo, server and client public
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip} is allowed");
        }
    }
}

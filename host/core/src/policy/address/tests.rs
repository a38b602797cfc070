use super::*;

fn range(ip: &str) -> Option<&'static str> {
    classify(ip.parse().unwrap()).map(|r| r.range)
}

#[test]
fn ipv4_ranges() {
    let cases = [
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "\"this network\" (0.0.0.0/8)"),
        ("10.0.0.1", "private"),
        ("10.255.255.255", "private"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("100.127.255.254", "shared (CGNAT)"),
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("169.254.0.1", "link-local"),
        ("169.254.169.254", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("168.63.129.16", "cloud metadata"),
        ("192.0.0.192", "cloud metadata"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.0.0.8", "IETF protocol assignment"),
        ("192.0.2.1", "documentation"),
        ("192.88.99.1", "6to4 relay anycast"),
        ("192.168.1.1", "private"),
        ("198.18.0.1", "benchmarking"),
        ("198.19.255.255", "benchmarking"),
        ("198.51.100.7", "documentation"),
        ("203.0.113.9", "documentation"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
    ];
    for (ip, want) in cases {
        assert_eq!(range(ip), Some(want), "{ip}");
    }
}

#[test]
fn public_ipv4_passes_including_neighbours_of_refused_ranges() {
    for ip in [
        "1.1.1.1",
        "8.8.8.8",
        "9.255.255.255",
        "11.0.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "126.255.255.255",
        "128.0.0.0",
        "169.253.255.255",
        "169.255.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "192.0.1.0",
        "192.167.255.255",
        "192.169.0.0",
        "198.17.255.255",
        "198.20.0.0",
        "223.255.255.255",
        "93.184.215.14",
    ] {
        assert_eq!(range(ip), None, "{ip}");
    }
}

#[test]
fn ipv6_ranges() {
    let cases = [
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("febf::1", "link-local"),
        ("fc00::1", "unique-local"),
        ("fdff:ffff::1", "unique-local"),
        ("fd00:ec2::254", "cloud metadata"),
        ("fec0::1", "site-local (deprecated)"),
        ("ff02::1", "multicast"),
        ("ff05::2", "multicast"),
        ("100::1", "discard-only"),
        ("2001:db8::1", "documentation"),
        ("3fff::1", "documentation"),
        ("2001:2::1", "benchmarking"),
        ("2001:10::1", "ORCHID (non-routable)"),
        ("2001:20::1", "ORCHIDv2 (non-routable)"),
        ("5f00::1", "SRv6 SID (non-routable)"),
        ("64:ff9b:1::808:808", "local-use NAT64"),
    ];
    for (ip, want) in cases {
        assert_eq!(range(ip), Some(want), "{ip}");
    }
    for ip in ["2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001::1", "2001:3::1"] {
        assert_eq!(range(ip), None, "{ip}");
    }
}

#[test]
fn ipv6_forms_embedding_ipv4_are_judged_by_the_ipv4() {
    let refused = [
        ("::ffff:127.0.0.1", "127.0.0.1", "loopback"),
        ("::ffff:10.1.2.3", "10.1.2.3", "private"),
        ("::ffff:169.254.169.254", "169.254.169.254", "cloud metadata"),
        ("::ffff:0:192.168.0.1", "192.168.0.1", "private"),
        ("::127.0.0.1", "127.0.0.1", "loopback"),
        ("::10.0.0.1", "10.0.0.1", "private"),
        ("::0.0.0.2", "0.0.0.2", "\"this network\" (0.0.0.0/8)"),
        ("64:ff9b::7f00:1", "127.0.0.1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254", "cloud metadata"),
        ("2002:7f00:1::", "127.0.0.1", "loopback"),
        ("2002:c0a8:101::1", "192.168.1.1", "private"),
        // Teredo: the client address is stored inverted (0x80ffff fe = !127.0.0.1).
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1", "loopback"),
        // Teredo with a private server address.
        ("2001:0:a00:1::1", "10.0.0.1", "private"),
    ];
    for (ip, v4, want) in refused {
        let got = classify(ip.parse().unwrap()).unwrap_or_else(|| panic!("{ip} must be refused"));
        assert_eq!((got.embedded, got.range), (Some(v4.parse().unwrap()), want), "{ip}");
    }
    for ip in ["::ffff:8.8.8.8", "::8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2001:0:808:808::f7f7:f7f7"] {
        assert_eq!(range(ip), None, "{ip}");
    }
}

#[test]
fn refusals_read_clearly() {
    assert_eq!(classify("127.0.0.1".parse().unwrap()).unwrap().to_string(), "127.0.0.1 is a loopback address");
    assert_eq!(
        classify("::ffff:169.254.169.254".parse().unwrap()).unwrap().to_string(),
        "::ffff:169.254.169.254 embeds 169.254.169.254, a cloud metadata address"
    );
}

#[test]
fn openings_parse_and_print() {
    let cases = [
        ("127.0.0.1:8081", Opening::Socket("127.0.0.1:8081".parse().unwrap())),
        ("[::1]:8081", Opening::Socket("[::1]:8081".parse().unwrap())),
        ("10.0.0.5", Opening::Ip("10.0.0.5".parse().unwrap())),
        ("::1", Opening::Ip("::1".parse().unwrap())),
    ];
    for (text, want) in cases {
        assert_eq!(text.parse::<Opening>(), Ok(want));
        assert_eq!(want.to_string(), text);
    }
    for bad in ["", "localhost", "localhost:80", "127.0.0.1:", "127.0.0.1:99999", "10/8"] {
        assert!(bad.parse::<Opening>().is_err(), "{bad}");
    }
}

#[test]
fn the_default_policy_opens_nothing() {
    let policy = AddressPolicy::public_only();
    assert!(policy.check("8.8.8.8".parse().unwrap(), Some(443)).is_ok());
    assert!(policy.check("8.8.8.8".parse().unwrap(), None).is_ok());
    for ip in ["127.0.0.1", "::1", "10.0.0.1", "169.254.169.254"] {
        assert!(policy.check(ip.parse().unwrap(), Some(80)).is_err(), "{ip}");
    }
    assert!(policy.opened_ports().is_empty());
}

#[test]
fn openings_open_exactly_what_they_name() {
    let policy = AddressPolicy::with_openings(["127.0.0.1:8081", "10.0.0.5", "[::1]:8081"].map(|o| o.parse().unwrap()));
    let check = |ip: &str, port| policy.check(ip.parse().unwrap(), port).is_ok();
    assert!(check("127.0.0.1", Some(8081)));
    assert!(!check("127.0.0.1", Some(8082)), "another port of an opened socket");
    assert!(!check("127.0.0.1", None), "unknown port: only whole-IP openings count");
    assert!(!check("127.0.0.2", Some(8081)));
    assert!(!check("::ffff:127.0.0.1", Some(8081)), "another spelling is another address");
    assert!(check("::1", Some(8081)));
    assert!(check("10.0.0.5", Some(1)) && check("10.0.0.5", None));
    assert!(!check("10.0.0.6", Some(1)));
    assert_eq!(policy.opened_ports(), [8081]);
}

#![doc = include_str!("../README.md")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use host_ipsec::control::{self, Request};
use host_ipsec::stats::{DaemonStatus, SaStatus};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique short tag: PID and a per-process counter.
pub fn unique() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Fails the test with a clear message when not root (namespaces need it).
pub fn require_root() {
    let uid = nix_uid();
    assert_eq!(uid, 0, "the e2e tests create network namespaces and TUN devices: run them as root (scripts/test.sh does)");
}

fn nix_uid() -> u32 {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(u32::MAX)
}

/// Runs a command, panicking with its output when it fails.
pub fn sh(cmd: &[&str]) -> Output {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command and returns whether it succeeded.
pub fn try_sh(cmd: &[&str]) -> bool {
    Command::new(cmd[0])
        .args(&cmd[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A network namespace, removed on drop (also when the test fails).
#[derive(Debug)]
pub struct Netns {
    /// Name.
    pub name: String,
}

impl Netns {
    /// Creates `ipsec-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> Self {
        let name = format!("ipse2e-{tag}-{}", unique());
        sh(&["ip", "netns", "add", &name]);
        sh(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        Netns { name }
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, cmd: &[&str]) -> Output {
        let mut v = vec!["ip", "netns", "exec", &self.name];
        v.extend_from_slice(cmd);
        sh(&v)
    }

    /// Runs a command inside the namespace; true on success.
    pub fn try_exec(&self, cmd: &[&str]) -> bool {
        let mut v = vec!["ip", "netns", "exec", &self.name];
        v.extend_from_slice(cmd);
        try_sh(&v)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Address family of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4 outside and inside.
    V4,
    /// IPv6 outside and inside.
    V6,
}

/// Two namespaces joined by a veth pair, with site addresses on `lo`.
#[derive(Debug)]
pub struct Pair {
    /// Site A.
    pub a: Netns,
    /// Site B.
    pub b: Netns,
    /// Family.
    pub family: Family,
    /// veth name in B (for captures).
    pub veth_b: String,
    /// Temporary directory (configs, sockets, state, logs).
    pub dir: PathBuf,
}

/// Addresses of a [`Pair`].
#[derive(Debug, Clone, Copy)]
pub struct Addrs {
    /// A's outer address.
    pub outer_a: &'static str,
    /// B's outer address.
    pub outer_b: &'static str,
    /// A's site address.
    pub site_a: &'static str,
    /// B's site address.
    pub site_b: &'static str,
    /// A's site prefix.
    pub net_a: &'static str,
    /// B's site prefix.
    pub net_b: &'static str,
}

impl Pair {
    /// Builds the topology.
    pub fn new(family: Family) -> Self {
        require_root();
        let a = Netns::new("a");
        let b = Netns::new("b");
        let u = unique();
        let (va, vb) = (format!("va{u}"), format!("vb{u}"));
        let (va, vb) = (
            va.chars().take(15).collect::<String>(),
            vb.chars().take(15).collect::<String>(),
        );
        sh(&[
            "ip", "link", "add", &va, "netns", &a.name, "type", "veth", "peer", "name", &vb,
            "netns", &b.name,
        ]);
        let dir = std::env::temp_dir().join(format!("ipsec-e2e-{u}"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = Pair {
            a,
            b,
            family,
            veth_b: vb.clone(),
            dir,
        };
        let ad = p.addrs();
        let (plen, nodad): (&str, &[&str]) = match family {
            Family::V4 => ("24", &[]),
            Family::V6 => ("64", &["nodad"]),
        };
        let host = if family == Family::V4 { "32" } else { "128" };
        for (ns, dev, outer, site) in [
            (&p.a, &va, ad.outer_a, ad.site_a),
            (&p.b, &vb, ad.outer_b, ad.site_b),
        ] {
            let o = format!("{outer}/{plen}");
            let mut cmd = vec!["ip", "-n", &ns.name, "addr", "add", &o, "dev", dev];
            cmd.extend_from_slice(nodad);
            sh(&cmd);
            sh(&["ip", "-n", &ns.name, "link", "set", dev, "up"]);
            let s = format!("{site}/{host}");
            let mut cmd = vec!["ip", "-n", &ns.name, "addr", "add", &s, "dev", "lo"];
            cmd.extend_from_slice(nodad);
            sh(&cmd);
        }
        p
    }

    /// The addresses used.
    pub fn addrs(&self) -> Addrs {
        match self.family {
            Family::V4 => Addrs {
                outer_a: "192.168.77.1",
                outer_b: "192.168.77.2",
                site_a: "10.1.0.1",
                site_b: "10.2.0.1",
                net_a: "10.1.0.0/24",
                net_b: "10.2.0.0/24",
            },
            Family::V6 => Addrs {
                outer_a: "fd00:77::1",
                outer_b: "fd00:77::2",
                site_a: "fd00:1::1",
                site_b: "fd00:2::1",
                net_a: "fd00:1::/64",
                net_b: "fd00:2::/64",
            },
        }
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Options of a generated configuration.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// tunnel | transport.
    pub mode: &'static str,
    /// udp | raw.
    pub encap: &'static str,
    /// ESP proposal.
    pub proposal: &'static str,
    /// Extra `[daemon]` lines.
    pub daemon_extra: String,
    /// Card backend of site A (`none`, `model`, `sim`); B always runs software.
    pub card_a: &'static str,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            mode: "tunnel",
            encap: "udp",
            proposal: "aes128gcm16",
            daemon_extra: String::new(),
            card_a: "none",
        }
    }
}

/// Fixed test keys (not secret: test configuration only).
pub const KEY_AB: &str = "00112233445566778899aabbccddeeff01020304";
/// Fixed test keys for the B -> A direction.
pub const KEY_BA: &str = "ffeeddccbbaa99887766554433221100a0b0c0d0";

/// The `n`th variant of a hex key (its first byte replaced by `n`): one key per
/// SA, since the daemon refuses a key on two SAs.
pub fn key_nth(key: &str, n: usize) -> String {
    format!("{:02x}{}", n & 0xff, &key[2..])
}

/// Test key material of the length `proposal` takes, built from `seed` (hex).
pub fn key_for(proposal: &str, seed: &str) -> String {
    let len = match proposal {
        "aes256gcm16" | "aes256gmac" => 36,
        "aes128-sha256" => 48,
        "aes256-sha256" => 64,
        _ => 20,
    };
    seed.repeat(4).chars().take(len * 2).collect()
}

impl Pair {
    /// Writes configurations for both sides and returns their paths.
    pub fn configs(&self, s: &Scenario) -> (PathBuf, PathBuf) {
        let ad = self.addrs();
        let dir = self.dir.display();
        let one = |name: &str,
                   tun: &str,
                   local: &str,
                   remote: &str,
                   lts: &str,
                   rts: &str,
                   ins: &str,
                   outs: &str,
                   ink: &str,
                   outk: &str| {
            let ts = if s.mode == "tunnel" {
                format!("local_ts = [\"{lts}\"]\nremote_ts = [\"{rts}\"]\n")
            } else {
                String::new()
            };
            format!(
                "[daemon]\nname = \"{name}\"\ntun_name = \"{tun}\"\ncontrol_socket = \"{dir}/{name}.sock\"\nstate_dir = \"{dir}/state\"\n{extra}\n{card}\
                 [connections.peer]\nlocal_addrs = [\"{local}\"]\nremote_addrs = [\"{remote}\"]\nencap = \"{encap}\"\noffload = \"auto\"\n\n\
                 [connections.peer.children.c]\n{ts}mode = \"{mode}\"\nesp_proposals = \"{prop}\"\nin_spi = \"{ins}\"\nout_spi = \"{outs}\"\nin_key = \"{ink}\"\nout_key = \"{outk}\"\n",
                extra = s.daemon_extra,
                card = if name == "a" && s.card_a != "none" {
                    format!("offload_device = \"{}\"\n", s.card_a)
                } else {
                    String::new()
                },
                encap = s.encap,
                mode = s.mode,
                prop = s.proposal,
            )
        };
        let a = one(
            "a",
            "ipsa",
            ad.outer_a,
            ad.outer_b,
            ad.net_a,
            ad.net_b,
            "0x0000b001",
            "0x0000a001",
            &key_for(s.proposal, KEY_BA),
            &key_for(s.proposal, KEY_AB),
        );
        let b = one(
            "b",
            "ipsb",
            ad.outer_b,
            ad.outer_a,
            ad.net_b,
            ad.net_a,
            "0x0000a001",
            "0x0000b001",
            &key_for(s.proposal, KEY_AB),
            &key_for(s.proposal, KEY_BA),
        );
        let (pa, pb) = (self.dir.join("a.toml"), self.dir.join("b.toml"));
        std::fs::write(&pa, a).expect("write config");
        std::fs::write(&pb, b).expect("write config");
        (pa, pb)
    }

    /// IPv4 configurations with two connections between the same outer addresses,
    /// each with one tunnel child: `lo` covers the lower half of each site's /24
    /// (SPIs 0xa001 A->B, 0xb001 B->A), `hi` the upper half (0xa002, 0xb002; add
    /// `10.x.0.129` to each site with [`Pair::add_upper_hosts`]). On A, connection
    /// `lo` uses `offload = a_offload[0]` and `hi` `a_offload[1]`, and `a_daemon`
    /// is added to its `[daemon]` table; B runs both in software.
    pub fn two_connection_configs(
        &self,
        a_daemon: &str,
        a_offload: [&str; 2],
    ) -> (PathBuf, PathBuf) {
        let dir = self.dir.display();
        let conf = |name: &str,
                    local: &str,
                    remote: &str,
                    me: u8,
                    peer: u8,
                    extra: &str,
                    offload: [&str; 2]| {
            let (tun, kin, kout) = if name == "a" {
                ("ipsa", KEY_BA, KEY_AB)
            } else {
                ("ipsb", KEY_AB, KEY_BA)
            };
            let mut c = format!(
                "[daemon]\nname = \"{name}\"\ntun_name = \"{tun}\"\ncontrol_socket = \"{dir}/{name}.sock\"\nstate_dir = \"{dir}/state\"\n{extra}\n"
            );
            for (i, (conn, half)) in [("lo", "0"), ("hi", "128")].into_iter().enumerate() {
                let (ins, outs) = if name == "a" {
                    (0xb001 + i, 0xa001 + i)
                } else {
                    (0xa001 + i, 0xb001 + i)
                };
                c += &format!(
                    "\n[connections.{conn}]\nlocal_addrs = [\"{local}\"]\nremote_addrs = [\"{remote}\"]\nencap = \"udp\"\noffload = \"{off}\"\n\n\
                     [connections.{conn}.children.c]\nlocal_ts = [\"10.{me}.0.{half}/25\"]\nremote_ts = [\"10.{peer}.0.{half}/25\"]\nesp_proposals = \"aes128gcm16\"\n\
                     in_spi = \"{ins:#010x}\"\nout_spi = \"{outs:#010x}\"\nin_key = \"{}\"\nout_key = \"{}\"\n",
                    key_nth(kin, i + 1),
                    key_nth(kout, i + 1),
                    off = offload[i],
                );
            }
            c
        };
        let (pa, pb) = (self.dir.join("a.toml"), self.dir.join("b.toml"));
        let a = conf(
            "a",
            "192.168.77.1",
            "192.168.77.2",
            1,
            2,
            a_daemon,
            a_offload,
        );
        let b = conf(
            "b",
            "192.168.77.2",
            "192.168.77.1",
            2,
            1,
            "",
            ["auto", "auto"],
        );
        std::fs::write(&pa, a).expect("write config");
        std::fs::write(&pb, b).expect("write config");
        (pa, pb)
    }

    /// Adds `10.1.0.129` to site A and `10.2.0.129` to site B (hosts in the upper
    /// half of each site, for [`Pair::two_connection_configs`]).
    pub fn add_upper_hosts(&self) {
        for (ns, extra) in [(&self.a, "10.1.0.129/32"), (&self.b, "10.2.0.129/32")] {
            ns.exec(&["ip", "addr", "add", extra, "dev", "lo"]);
        }
    }

    /// Pings `dst` from `src` in A's namespace (`count` packets); true when all
    /// were answered.
    pub fn ping_from(&self, src: &str, dst: &str, count: u32) -> bool {
        let c = count.to_string();
        self.a
            .try_exec(&["ping", "-c", &c, "-i", "0.2", "-W", "2", "-I", src, dst])
    }

    /// The source and destination a ping from A to B uses in scenario `s`.
    pub fn ping_ends(&self, s: &Scenario) -> (&'static str, &'static str) {
        let ad = self.addrs();
        if s.mode == "tunnel" {
            (ad.site_a, ad.site_b)
        } else {
            (ad.outer_a, ad.outer_b)
        }
    }

    /// Pings from A to B (count packets, payload `size`); true when all answered.
    pub fn ping(&self, s: &Scenario, count: u32, size: u32) -> bool {
        let (src, dst) = self.ping_ends(s);
        let (c, sz) = (count.to_string(), size.to_string());
        self.a.try_exec(&[
            "ping", "-c", &c, "-i", "0.2", "-W", "2", "-s", &sz, "-I", src, dst,
        ])
    }
}

/// Path of a workspace binary built next to the running test executable.
pub fn bin(name: &str) -> PathBuf {
    if let Ok(p) = std::env::var(format!("{}_BIN", name.to_uppercase())) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/e2e-xxxx -> target/<profile>/<name>
    let p = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join(name))
        .expect("target dir");
    assert!(
        p.exists(),
        "{} not found: build it first with `cargo build -p host-ipsec --bins` in the same profile \
         (cargo test --workspace does), or set {}_BIN",
        p.display(),
        name.to_uppercase()
    );
    p
}

/// A running ipsecd in a namespace; stopped (SIGTERM, then SIGKILL) on drop.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    /// Its control socket.
    pub socket: PathBuf,
    /// Its log file.
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `ipsecd --config config` in `ns` and waits for its control socket.
    pub fn start(ns: &Netns, config: &Path, socket: PathBuf) -> Self {
        Self::start_with_args(ns, config, socket, &[])
    }

    /// Runs `ipsecd --config config ARGS` in `ns`, expecting it to refuse to
    /// start: its exit status and log (panics when it comes up instead).
    pub fn refused(ns: &Netns, config: &Path, args: &[&str]) -> (std::process::ExitStatus, String) {
        let log = config.with_extension(format!("{}.log", unique()));
        let logf = std::fs::File::create(&log).expect("log file");
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .arg(bin("ipsecd"))
            .arg("--config")
            .arg(config)
            .args(args)
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .expect("spawn ipsecd");
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(st)) = child.try_wait() {
                return (st, std::fs::read_to_string(&log).unwrap_or_default());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "ipsecd did not refuse to start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Kills the daemon with SIGKILL (no state saved on the way out) and waits.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// As [`start`](Self::start), with more command-line arguments.
    pub fn start_with_args(ns: &Netns, config: &Path, socket: PathBuf, args: &[&str]) -> Self {
        let log = config.with_extension(format!("{}.log", unique()));
        let logf = std::fs::File::create(&log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .arg(bin("ipsecd"))
            .arg("--config")
            .arg(config)
            .args(args)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .expect("spawn ipsecd");
        let mut d = Daemon { child, socket, log };
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if d.socket.exists() && control::call(&d.socket, &Request::Status).is_ok() {
                return d;
            }
            if let Ok(Some(st)) = d.child.try_wait() {
                panic!(
                    "ipsecd exited early ({st}): {}",
                    std::fs::read_to_string(&d.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "ipsecd did not come up: {}",
            std::fs::read_to_string(&d.log).unwrap_or_default()
        );
    }

    /// Status over the control socket.
    pub fn status(&self) -> DaemonStatus {
        let r = control::call(&self.socket, &Request::Status).expect("status");
        assert!(r.ok, "status refused: {:?}", r.error);
        serde_json::from_value(r.result.expect("result")).expect("status json")
    }

    /// The SA with this direction.
    pub fn sa(&self, direction: &str) -> SaStatus {
        self.status()
            .sas
            .into_iter()
            .find(|s| s.direction == direction)
            .expect("SA present")
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops with SIGTERM (state saved) and waits.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(5) {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.terminate();
    }
}

impl Pair {
    /// The sequence state file of daemon `name` ("a" or "b") of [`Pair::configs`].
    pub fn state_file(&self, name: &str) -> PathBuf {
        self.dir.join("state").join(format!("{name}.seq.json"))
    }

    /// The saved record (reserved end, exhausted) of outbound SPI `spi` of daemon
    /// `name`, read from its state file.
    pub fn saved_seq(&self, name: &str, spi: u32) -> Option<(u64, bool)> {
        let text = std::fs::read_to_string(self.state_file(name)).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let r = &v["sas"][spi.to_string()];
        Some((r["reserved_end"].as_u64()?, r["exhausted"].as_bool()?))
    }
}

/// Both daemons of a pair.
#[derive(Debug)]
pub struct Running {
    /// Site A's daemon.
    pub a: Daemon,
    /// Site B's daemon.
    pub b: Daemon,
}

impl Pair {
    /// Writes configurations and starts both daemons.
    pub fn start(&self, s: &Scenario) -> Running {
        let (ca, cb) = self.configs(s);
        let a = Daemon::start(&self.a, &ca, self.dir.join("a.sock"));
        let b = Daemon::start(&self.b, &cb, self.dir.join("b.sock"));
        Running { a, b }
    }
}

/// Captures the payload of the first ESP packet (UDP 4500 payload, or the ESP
/// header onwards for raw ESP) arriving on B's veth while `trigger` runs.
pub fn capture_esp(p: &Pair, encap: &str, trigger: impl FnOnce()) -> Vec<u8> {
    let file = p.dir.join(format!("cap-{}.pcap", unique()));
    let f = file.display().to_string();
    let filter = if encap == "udp" {
        "udp port 4500"
    } else {
        "esp"
    };
    let mut child = Command::new("ip")
        .args([
            "netns", "exec", &p.b.name, "tcpdump", "-U", "-c", "1", "-w", &f, "-i", &p.veth_b,
            filter,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tcpdump (install with scripts/setup.sh)");
    std::thread::sleep(Duration::from_millis(700));
    trigger();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let data = std::fs::read(&file).expect("capture file");
    let frame = first_pcap_record(&data).expect("one captured packet");
    esp_of_ethernet(frame, encap).expect("ESP in the capture")
}

/// The first record of a pcap file (Ethernet link type).
pub fn first_pcap_record(d: &[u8]) -> Option<&[u8]> {
    let magic = u32::from_le_bytes(d.get(0..4)?.try_into().ok()?);
    let le = match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d => true,
        0xd4c3_b2a1 | 0x4d3c_b2a1 => false,
        _ => return None,
    };
    let rd = |o: usize| -> Option<u32> {
        let b: [u8; 4] = d.get(o..o + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let incl = rd(24 + 8)? as usize;
    d.get(40..40 + incl)
}

/// The ESP datagram inside an Ethernet frame (after UDP for `encap = "udp"`).
pub fn esp_of_ethernet(f: &[u8], encap: &str) -> Option<Vec<u8>> {
    let ip = f.get(14..)?;
    let (proto, l4) = match ip.first()? >> 4 {
        4 => (ip[9], ip.get(usize::from(ip[0] & 0x0f) * 4..)?),
        6 => (ip[6], ip.get(40..)?),
        _ => return None,
    };
    match (encap, proto) {
        ("udp", 17) => Some(l4.get(8..)?.to_vec()),
        ("raw", 50) => Some(l4.to_vec()),
        _ => None,
    }
}

/// Sends `payload` from namespace `ns` to `dst` with UDP (source port `sport`,
/// destination 4500) or as raw ESP, using the system Python's socket module.
pub fn inject(ns: &Netns, dst: &str, encap: &str, payload: &[u8]) {
    let fam = if dst.contains(':') {
        "socket.AF_INET6"
    } else {
        "socket.AF_INET"
    };
    let prog = if encap == "udp" {
        format!("import socket,sys; s=socket.socket({fam}, socket.SOCK_DGRAM); s.sendto(bytes.fromhex(sys.argv[1]), (sys.argv[2], 4500))")
    } else {
        format!("import socket,sys; s=socket.socket({fam}, socket.SOCK_RAW, 50); s.sendto(bytes.fromhex(sys.argv[1]), (sys.argv[2], 0))")
    };
    let h = hex::encode(payload);
    ns.exec(&["python3", "-c", &prog, &h, dst]);
}

/// Polls `f` until it returns true or `secs` pass.
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// One side of an IKEv2 scenario: an `ipsecd` connection negotiated with a PSK.
#[derive(Debug, Clone)]
pub struct IkeSide {
    /// Instance name (also the config and socket file names).
    pub name: &'static str,
    /// TUN device.
    pub tun: &'static str,
    /// Our outer address.
    pub local: &'static str,
    /// The peer's outer address.
    pub remote: &'static str,
    /// Our identity.
    pub local_id: &'static str,
    /// The peer's identity.
    pub remote_id: &'static str,
    /// Pre-shared key.
    pub psk: &'static str,
    /// Local traffic selector.
    pub local_ts: &'static str,
    /// Remote traffic selector.
    pub remote_ts: &'static str,
    /// none | start | trap.
    pub start_action: &'static str,
    /// `offload_device` (none | model | sim).
    pub offload_device: &'static str,
    /// IKE proposals.
    pub proposals: &'static str,
    /// ESP proposals.
    pub esp_proposals: &'static str,
    /// More lines for the connection block.
    pub conn_extra: String,
    /// More lines for the child block.
    pub child_extra: String,
}

impl IkeSide {
    /// Site A of a [`Pair`] (IPv4) talking to B.
    pub fn site_a() -> Self {
        IkeSide {
            name: "a",
            tun: "ipsa",
            local: "192.168.77.1",
            remote: "192.168.77.2",
            local_id: "alice.example",
            remote_id: "bob.example",
            psk: "e2e-ike-secret-0123456789",
            local_ts: "10.1.0.0/24",
            remote_ts: "10.2.0.0/24",
            start_action: "none",
            offload_device: "none",
            proposals: "aes256gcm16-prfsha256-x25519",
            esp_proposals: "aes128gcm16",
            conn_extra: String::new(),
            child_extra: String::new(),
        }
    }

    /// Site B of a [`Pair`] (IPv4) talking to A.
    pub fn site_b() -> Self {
        IkeSide {
            name: "b",
            tun: "ipsb",
            local: "192.168.77.2",
            remote: "192.168.77.1",
            local_id: "bob.example",
            remote_id: "alice.example",
            local_ts: "10.2.0.0/24",
            remote_ts: "10.1.0.0/24",
            ..IkeSide::site_a()
        }
    }

    /// Writes the configuration into `dir` and returns (config path, socket path).
    pub fn write(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let d = dir.display();
        let name = self.name;
        let text = format!(
            "[daemon]\nname = \"{name}\"\ntun_name = \"{tun}\"\ncontrol_socket = \"{d}/{name}.sock\"\nstate_dir = \"{d}/state-{name}\"\noffload_device = \"{dev}\"\n\n\
             [connections.peer]\nlocal_addrs = [\"{local}\"]\nremote_addrs = [\"{remote}\"]\nlocal_id = \"{lid}\"\nremote_id = \"{rid}\"\n\
             psk = \"{psk}\"\nproposals = \"{props}\"\nstart_action = \"{sa}\"\noffload = \"auto\"\n{ce}\n\n\
             [connections.peer.children.net]\nlocal_ts = [\"{lts}\"]\nremote_ts = [\"{rts}\"]\nesp_proposals = \"{esp}\"\n{che}\n",
            tun = self.tun,
            dev = self.offload_device,
            local = self.local,
            remote = self.remote,
            lid = self.local_id,
            rid = self.remote_id,
            psk = self.psk,
            props = self.proposals,
            sa = self.start_action,
            ce = self.conn_extra,
            lts = self.local_ts,
            rts = self.remote_ts,
            esp = self.esp_proposals,
            che = self.child_extra,
        );
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, text).expect("write config");
        (path, dir.join(format!("{name}.sock")))
    }

    /// Writes the configuration and starts `ipsecd` with it in `ns`.
    pub fn start(&self, ns: &Netns, dir: &Path) -> Daemon {
        let (cfg, sock) = self.write(dir);
        Daemon::start(ns, &cfg, sock)
    }
}

/// Runs `ipsecctl --socket SOCKET ARGS...` and returns its output (not checked).
pub fn ipsecctl(socket: &Path, args: &[&str]) -> Output {
    Command::new(bin("ipsecctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("run ipsecctl")
}

impl Daemon {
    /// The IKE part of the status.
    pub fn ike(&self) -> host_ipsec::ike::IkeView {
        self.status().ike
    }

    /// True when an IKE SA is ESTABLISHED and `pairs` SA pairs are installed.
    pub fn established(&self, pairs: usize) -> bool {
        let st = self.status();
        st.sa_pairs >= pairs && st.ike.sas.iter().any(|s| s.state == "ESTABLISHED")
    }

    /// The daemon's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Fails with a clear message when strongSwan 5.9 (charon, swanctl, kernel-libipsec)
/// is not installed.
pub fn require_strongswan() {
    require_root();
    for p in [
        "/usr/lib/ipsec/charon",
        "/usr/sbin/swanctl",
        "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so",
    ] {
        assert!(
            Path::new(p).exists(),
            "strongSwan interop needs {p}: apt-get install --no-install-recommends strongswan-charon \
             strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins (scripts/setup.sh does)"
        );
    }
}

/// strongSwan's charon in a namespace with the user-space ESP plugin
/// (kernel-libipsec), its own mount namespace and a private `/run`; stopped on drop.
#[derive(Debug)]
pub struct Charon {
    child: Option<Child>,
    /// Its working directory.
    pub dir: PathBuf,
    /// Its log (ike = 2, no keys).
    pub log: PathBuf,
    vici: PathBuf,
}

impl Charon {
    /// Starts charon in `ns` with `swanctl_conf` (a complete swanctl.conf) loaded.
    pub fn start(ns: &Netns, dir: &Path, swanctl_conf: &str) -> Self {
        Charon::launch(ns, dir, swanctl_conf, None)
    }

    /// Like [`Charon::start`], with the plugins for certificates loaded and the
    /// fixture certificate and key `cert` (`bob`, `rogue-bob`, ...) as `ss.pem` /
    /// `ss.key` and the fixture CA as `ca.pem` in its credential directories.
    pub fn start_with_certs(ns: &Netns, dir: &Path, swanctl_conf: &str, cert: &str) -> Self {
        Charon::launch(ns, dir, swanctl_conf, Some(cert))
    }

    fn launch(ns: &Netns, dir: &Path, swanctl_conf: &str, cert: Option<&str>) -> Self {
        require_strongswan();
        // kernel-libipsec and IPv6 router solicitations make roaming noise
        ns.exec(&["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
        let dir = dir.join(format!("charon-{}", unique()));
        std::fs::create_dir_all(dir.join("run")).expect("charon dir");
        let mut plugins = "random nonce openssl";
        if let Some(cert) = cert {
            plugins = "random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints";
            let certs = fixture_certs();
            for (sub, from, to) in [
                ("x509ca", "ca.pem".to_string(), "ca.pem"),
                ("x509", format!("{cert}.pem"), "ss.pem"),
                ("private", format!("{cert}.key"), "ss.key"),
            ] {
                std::fs::create_dir_all(dir.join(sub)).expect("credential dir");
                std::fs::copy(certs.join(&from), dir.join(sub).join(to))
                    .unwrap_or_else(|e| panic!("copy {from}: {e}"));
            }
        }
        let vici = dir.join("charon.vici");
        let log = dir.join("charon.log");
        let conf = dir.join("strongswan.conf");
        std::fs::write(
            &conf,
            format!(
                "charon {{\n  load = {plugins} kdf kernel-libipsec kernel-netlink socket-default vici\n  \
                 port = 500\n  port_nat_t = 4500\n  retransmit_tries = 3\n  retransmit_timeout = 2\n  \
                 plugins {{\n    vici {{\n      socket = unix://{vici}\n    }}\n  }}\n  \
                 filelog {{\n    e2e {{\n      path = {log}\n      default = 1\n      ike = 2\n      cfg = 2\n      flush_line = yes\n    }}\n  }}\n}}\n",
                vici = vici.display(),
                log = log.display()
            ),
        )
        .expect("strongswan.conf");
        let swanctl = dir.join("swanctl.conf");
        std::fs::write(&swanctl, swanctl_conf).expect("swanctl.conf");
        let out = std::fs::File::create(dir.join("charon.stdout")).expect("stdout file");
        let script = format!(
            "mount --bind '{run}' /run && exec env STRONGSWAN_CONF='{conf}' /usr/lib/ipsec/charon",
            run = dir.join("run").display(),
            conf = conf.display()
        );
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns.name,
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
            ])
            .arg(script)
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            .spawn()
            .expect("spawn charon");
        let c = Charon {
            child: Some(child),
            dir,
            log,
            vici,
        };
        assert!(
            eventually(10, || c.vici.exists()),
            "charon did not start: {}",
            std::fs::read_to_string(c.dir.join("charon.stdout")).unwrap_or_default()
        );
        // swanctl takes the credentials from the directory of --file
        let o = c.swanctl(&["--load-all", "--file", &swanctl.display().to_string()]);
        assert!(
            o.status.success(),
            "swanctl --load-all: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        c
    }

    /// Runs `swanctl ARGS --uri <this charon>`.
    pub fn swanctl(&self, args: &[&str]) -> Output {
        Command::new("swanctl")
            .args(args)
            .arg("--uri")
            .arg(format!("unix://{}", self.vici.display()))
            .output()
            .expect("run swanctl")
    }

    /// `swanctl --list-sas` output.
    pub fn list_sas(&self) -> String {
        String::from_utf8_lossy(&self.swanctl(&["--list-sas"]).stdout).into_owned()
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills charon without a word to its peer (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            // `ip netns exec` execs into unshare, which execs into sh, then charon:
            // one process, this pid.
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Charon {
    fn drop(&mut self) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let pid = c.id();
            let gone = eventually(5, || {
                !Path::new(&format!("/proc/{pid}")).exists()
                    || self
                        .child
                        .as_mut()
                        .is_some_and(|c| !matches!(c.try_wait(), Ok(None)))
            });
            if !gone {
                self.kill();
            }
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }
}

/// A swanctl.conf for the peer of [`IkeSide::site_a`] on site B of a [`Pair`].
pub fn swanctl_site_b(
    psk: &str,
    ike: &str,
    esp: &str,
    conn_extra: &str,
    child_extra: &str,
) -> String {
    format!(
        "connections {{\n  peer {{\n    version = 2\n    local_addrs = 192.168.77.2\n    remote_addrs = 192.168.77.1\n    \
         proposals = {ike}\n    mobike = no\n    {conn_extra}\n    local {{\n      auth = psk\n      id = bob.example\n    }}\n    \
         remote {{\n      auth = psk\n      id = alice.example\n    }}\n    children {{\n      net {{\n        \
         local_ts = 10.2.0.0/24\n        remote_ts = 10.1.0.0/24\n        esp_proposals = {esp}\n        \
         start_action = none\n        {child_extra}\n      }}\n    }}\n  }}\n}}\n\
         secrets {{\n  ike-peer {{\n    id-1 = alice.example\n    id-2 = bob.example\n    secret = \"{psk}\"\n  }}\n}}\n"
    )
}

/// Sends `bytes` random bytes over TCP from `from` (source `src`) to `to` (address
/// `dst`, port `port`) and returns (sent digest, received digest, received length).
pub fn tcp_transfer(
    from: &Netns,
    src: &str,
    to: &Netns,
    dst: &str,
    port: u16,
    bytes: usize,
) -> (String, String, usize) {
    let server = "import socket,hashlib,sys\n\
s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)\n\
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); s.settimeout(30)\n\
c,_=s.accept(); c.settimeout(30); h=hashlib.sha256(); n=0\n\
while True:\n    d=c.recv(65536)\n    if not d: break\n    h.update(d); n+=len(d)\n\
print(n, h.hexdigest())\n";
    let client = "import socket,hashlib,sys,os,time\n\
data=os.urandom(int(sys.argv[4])); print(hashlib.sha256(data).hexdigest(), flush=True)\n\
fam=socket.AF_INET6 if ':' in sys.argv[2] else socket.AF_INET\n\
for i in range(50):\n    s=socket.socket(fam); s.settimeout(30); s.bind((sys.argv[1],0))\n    \
try:\n        s.connect((sys.argv[2], int(sys.argv[3]))); break\n    except OSError:\n        s.close(); time.sleep(0.1)\n\
s.sendall(data); s.shutdown(socket.SHUT_WR); s.recv(1); s.close()\n";
    let p = port.to_string();
    let srv = Command::new("ip")
        .args(["netns", "exec", &to.name, "python3", "-c", server, dst, &p])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn TCP server");
    std::thread::sleep(Duration::from_millis(300));
    let n = bytes.to_string();
    let cl = Command::new("ip")
        .args([
            "netns", "exec", &from.name, "python3", "-c", client, src, dst, &p, &n,
        ])
        .output()
        .expect("run TCP client");
    let so = srv.wait_with_output().expect("TCP server");
    let sent = String::from_utf8_lossy(&cl.stdout).trim().to_string();
    let got = String::from_utf8_lossy(&so.stdout).trim().to_string();
    let (len, digest) = got.split_once(' ').unwrap_or(("0", ""));
    (sent, digest.to_string(), len.parse().unwrap_or(0))
}

impl Netns {
    /// Runs a command inside the namespace and returns its output whatever its status.
    pub fn exec_output(&self, cmd: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(cmd)
            .output()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
    }
}

/// The certificates of the `ikev2` crate's tests (`ikev2/tests/vectors/certs`, made
/// by `ikev2/interop/make-certs.sh`): a CA, `alice.example` and `bob.example` issued
/// by it, and `rogue-bob` (a `bob.example` from another CA with the same name).
pub fn fixture_certs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ikev2/tests/vectors/certs")
}

impl IkeSide {
    /// Like [`IkeSide::start`], but the connection authenticates with the fixture
    /// certificate and key `name` (`alice`, `bob`, ...) and trusts the fixture CA
    /// `ca` instead of using the PSK.
    pub fn start_with_certs(&self, ns: &Netns, dir: &Path, name: &str, ca: &str) -> Daemon {
        let (cfg, sock) = self.write(dir);
        let text = std::fs::read_to_string(&cfg).expect("read config");
        let certs = fixture_certs();
        let c = certs.display();
        let auth = format!(
            "auth = \"pubkey\"\ncert = \"{c}/{name}.pem\"\nkey = \"{c}/{name}.key\"\ncacerts = [\"{c}/{ca}.pem\"]\n"
        );
        let psk_line = format!("psk = \"{}\"\n", self.psk);
        assert!(text.contains(&psk_line), "{text}");
        std::fs::write(&cfg, text.replace(&psk_line, &auth)).expect("write config");
        Daemon::start(ns, &cfg, sock)
    }
}

/// A swanctl.conf for the peer of [`IkeSide::site_a`] on site B of a [`Pair`] that
/// authenticates with certificates both ways (its own is `ss.pem`, see
/// [`Charon::start_with_certs`]).
pub fn swanctl_site_b_pubkey(ike: &str, esp: &str, conn_extra: &str) -> String {
    format!(
        "connections {{\n  peer {{\n    version = 2\n    local_addrs = 192.168.77.2\n    remote_addrs = 192.168.77.1\n    \
         proposals = {ike}\n    mobike = no\n    {conn_extra}\n    local {{\n      auth = pubkey\n      id = bob.example\n      certs = ss.pem\n    }}\n    \
         remote {{\n      auth = pubkey\n      id = alice.example\n    }}\n    children {{\n      net {{\n        \
         local_ts = 10.2.0.0/24\n        remote_ts = 10.1.0.0/24\n        esp_proposals = {esp}\n        \
         start_action = none\n      }}\n    }}\n  }}\n}}\n"
    )
}

/// A process started in the background, killed (and waited for) on drop.
#[derive(Debug)]
pub struct Background {
    child: Child,
}

impl Background {
    /// Starts `cmd` inside namespace `ns`, output discarded.
    pub fn start(ns: &Netns, cmd: &[&str]) -> Self {
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .args(cmd)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        Background { child }
    }

    /// Waits up to `secs` for the process to end by itself; true if it did.
    pub fn wait_for(&mut self, secs: u64) -> bool {
        eventually(secs, || !matches!(self.child.try_wait(), Ok(None)))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `streams` parallel TCP streams (iperf3) for `secs` seconds from site A to
/// site B of a tunnel-mode pair; true when the transfer completed.
pub fn iperf_through(p: &Pair, streams: u32, secs: u32) -> bool {
    let ad = p.addrs();
    let mut server = Background::start(&p.b, &["iperf3", "-s", "-1", "-B", ad.site_b]);
    // the server needs a moment to listen
    let ready = eventually(5, || {
        p.b.try_exec(&["sh", "-c", "ss -ltn | grep -q ':5201 '"])
    });
    assert!(ready, "iperf3 server did not start");
    let (n, t) = (streams.to_string(), secs.to_string());
    let ok = p.a.try_exec(&[
        "iperf3", "-c", ad.site_b, "-B", ad.site_a, "-P", &n, "-t", &t, "-i", "0",
    ]);
    let _ = server.wait_for(5);
    ok
}

/// The kernel's UDP receive errors in namespace `ns` (`InErrors` of the `Udp:`
/// and `Udp6:` lines): datagrams the kernel dropped before any socket read them.
pub fn udp_in_errors(ns: &Netns) -> u64 {
    let mut total = 0;
    for (file, tag) in [
        ("/proc/net/snmp", "Udp:"),
        ("/proc/net/snmp6", "Udp6InErrors"),
    ] {
        let out = ns.exec(&["cat", file]);
        let text = String::from_utf8_lossy(&out.stdout);
        if tag == "Udp:" {
            let mut lines = text.lines().filter(|l| l.starts_with("Udp:"));
            if let (Some(h), Some(v)) = (lines.next(), lines.next()) {
                if let Some(i) = h.split_whitespace().position(|w| w == "InErrors") {
                    total += v
                        .split_whitespace()
                        .nth(i)
                        .and_then(|x| x.parse::<u64>().ok())
                        .unwrap_or(0);
                }
            }
        } else {
            total += text
                .lines()
                .find(|l| l.starts_with(tag))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|x| x.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

/// Every record of a pcap file (either byte order, microsecond or nanosecond).
pub fn pcap_records(d: &[u8]) -> Vec<&[u8]> {
    let mut v = Vec::new();
    let Some(magic) = d
        .get(0..4)
        .and_then(|m| m.try_into().ok())
        .map(u32::from_le_bytes)
    else {
        return v;
    };
    let le = match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d => true,
        0xd4c3_b2a1 | 0x4d3c_b2a1 => false,
        _ => return v,
    };
    let rd = |o: usize| -> Option<usize> {
        let b: [u8; 4] = d.get(o..o + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        } as usize)
    };
    let mut off = 24;
    while let Some(incl) = rd(off + 8) {
        let Some(rec) = d.get(off + 16..off + 16 + incl) else {
            break;
        };
        v.push(rec);
        off += 16 + incl;
    }
    v
}

/// (SPI, sequence number) of every ESP-in-UDP packet to `dst` (an IPv4
/// address) in a capture of Ethernet frames.
pub fn esp_ids_to(capture: &[u8], dst: std::net::Ipv4Addr) -> Vec<(u32, u32)> {
    pcap_records(capture)
        .into_iter()
        .filter_map(|f| {
            let ip = f.get(14..)?;
            if ip.first()? >> 4 != 4 || *ip.get(9)? != 17 || ip.get(16..20)? != dst.octets() {
                return None;
            }
            let l4 = ip.get(usize::from(ip[0] & 0x0f) * 4..)?;
            if l4.get(2..4)? != 4500u16.to_be_bytes() {
                return None;
            }
            let esp = l4.get(8..16)?;
            let spi = u32::from_be_bytes(esp[0..4].try_into().ok()?);
            let seq = u32::from_be_bytes(esp[4..8].try_into().ok()?);
            (spi != 0).then_some((spi, seq))
        })
        .collect()
}

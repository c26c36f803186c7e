//! ESP encap/decap beside the raw AEAD seal/open of the same backend and size,
//! so ESP's own overhead is a ratio from one run.
//!
//! `cargo bench -p esp --bench esp` (add `-- --measurement-time 1` for a
//! quick run). Groups: `seal/<backend>/<size>` and `open/<backend>/<size>`
//! with functions `raw_aead`, `esp_in_place`, `esp_copy`, `packet_tunnel`.
//!
//! By default the time measured is the benchmark thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID` through the `cpu-time` crate), so that other
//! processes on a shared machine do not inflate the figures; set
//! `ESP_BENCH_WALL=1` to measure wall-clock time instead.

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{black_box, BatchSize, BenchmarkId, Criterion, Throughput};
use esp::crypto::{Aead, BackendKind, GcmKey};
use esp::{InboundSa, Mode, OutboundSa, SaConfig, Spi, Transform};
use std::net::{IpAddr, Ipv4Addr};

const SIZES: [usize; 4] = [64, 256, 1420, 8192];

fn cfg(backend: BackendKind, tunnel: bool) -> SaConfig {
    let mut c = SaConfig::new(Spi(0x1234), Transform::AesGcm128, &[0x42; 20]).unwrap();
    c.backend = backend;
    c.replay_window = 4096;
    if tunnel {
        c.mode = Mode::Tunnel {
            local: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            remote: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        };
    }
    c
}

fn inner_packet(n: usize) -> Vec<u8> {
    let mut p = vec![0xabu8; n.max(28)];
    esp::wire::ipv4::emit_header(
        &mut p,
        0,
        n.max(28) as u16,
        64,
        17,
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 2),
    )
    .unwrap();
    p
}

fn seal<M: Measurement + 'static>(c: &mut Criterion<M>) {
    for backend in BackendKind::ALL {
        for n in SIZES {
            let mut g = c.benchmark_group(format!("seal/{}/{n}", backend.name()));
            g.throughput(Throughput::Bytes(n as u64));
            let key = GcmKey::new(backend, &[0x42; 16]).unwrap();
            let mut buf = vec![0u8; n];
            let nonce = [7u8; 12];
            g.bench_function("raw_aead", |b| {
                b.iter(|| {
                    black_box(
                        key.seal_in_place(&nonce, &[1u8; 8], black_box(&mut buf))
                            .unwrap(),
                    )
                })
            });
            let mut o = OutboundSa::new(&cfg(backend, false)).unwrap();
            let mut dg = vec![0u8; o.datagram_len(n)];
            g.bench_function("esp_in_place", |b| {
                b.iter(|| black_box(o.seal_in_place(black_box(&mut dg), n, 4).unwrap()))
            });
            let payload = vec![0x5au8; n];
            g.bench_function("esp_copy", |b| {
                b.iter(|| black_box(o.seal(black_box(&payload), 4, &mut dg).unwrap()))
            });
            let mut ot = OutboundSa::new(&cfg(backend, true)).unwrap();
            let inner = inner_packet(n);
            let mut out = vec![0u8; ot.encap_len(inner.len())];
            g.bench_function("packet_tunnel", |b| {
                b.iter(|| black_box(ot.encap_packet(black_box(&inner), &mut out).unwrap()))
            });
            // The inner packet already sits at the headroom (as when read from TUN).
            let head = ot.encap_headroom();
            let enc_len = ot.encap_len(inner.len());
            g.bench_function("packet_tunnel_in_place", |b| {
                b.iter_batched_ref(
                    || {
                        let mut buf = vec![0u8; enc_len];
                        buf[head..head + inner.len()].copy_from_slice(&inner);
                        buf
                    },
                    |buf| black_box(ot.encap_packet_in_place(buf, inner.len()).unwrap()),
                    BatchSize::SmallInput,
                )
            });
            g.finish();
        }
    }
}

fn open<M: Measurement + 'static>(c: &mut Criterion<M>) {
    for backend in BackendKind::ALL {
        for n in SIZES {
            let mut g = c.benchmark_group(format!("open/{}/{n}", backend.name()));
            g.throughput(Throughput::Bytes(n as u64));
            let key = GcmKey::new(backend, &[0x42; 16]).unwrap();
            let nonce = [7u8; 12];
            let mut ct = vec![0u8; n];
            let tag = key.seal_in_place(&nonce, &[1u8; 8], &mut ct).unwrap();
            g.bench_function(BenchmarkId::new("raw_aead", n), |b| {
                b.iter_batched_ref(
                    || ct.clone(),
                    |buf| key.open_in_place(&nonce, &[1u8; 8], buf, &tag).unwrap(),
                    BatchSize::SmallInput,
                )
            });
            // ESP open with a fresh (never seen) sequence number each time.
            let c = cfg(backend, false);
            let mut o = OutboundSa::new(&c).unwrap();
            let mut i = InboundSa::new(&c).unwrap();
            let payload = vec![0x5au8; n];
            g.bench_function(BenchmarkId::new("esp_in_place", n), |b| {
                b.iter_batched_ref(
                    || {
                        let mut dg = vec![0u8; o.datagram_len(n)];
                        o.seal(&payload, 4, &mut dg).unwrap();
                        dg
                    },
                    |dg| black_box(i.open(dg).unwrap()),
                    BatchSize::SmallInput,
                )
            });
            let ct_cfg = cfg(backend, true);
            let mut ot = OutboundSa::new(&ct_cfg).unwrap();
            let mut it = InboundSa::new(&ct_cfg).unwrap();
            let inner = inner_packet(n);
            g.bench_function(BenchmarkId::new("packet_tunnel", n), |b| {
                b.iter_batched_ref(
                    || {
                        let mut out = vec![0u8; ot.encap_len(inner.len())];
                        let s = ot.encap_packet(&inner, &mut out).unwrap();
                        out.truncate(s.len);
                        out
                    },
                    |pkt| black_box(it.decap_packet(pkt).unwrap()),
                    BatchSize::SmallInput,
                )
            });
            g.finish();
        }
    }
}

/// Thread CPU time as a criterion measurement.
struct ThreadCpuTime;

struct NanosFormatter;

impl ValueFormatter for NanosFormatter {
    fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
        "ns"
    }
    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        match *throughput {
            Throughput::Bytes(b) | Throughput::BytesDecimal(b) => {
                values.iter_mut().for_each(|v| *v = b as f64 / *v);
                "GB/s"
            }
            Throughput::Elements(e) => {
                values.iter_mut().for_each(|v| *v = e as f64 * 1e3 / *v);
                "Melem/s"
            }
        }
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

impl Measurement for ThreadCpuTime {
    type Intermediate = cpu_time::ThreadTime;
    type Value = Duration;
    fn start(&self) -> Self::Intermediate {
        cpu_time::ThreadTime::now()
    }
    fn end(&self, i: Self::Intermediate) -> Self::Value {
        i.elapsed()
    }
    fn add(&self, a: &Self::Value, b: &Self::Value) -> Self::Value {
        *a + *b
    }
    fn zero(&self) -> Self::Value {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Self::Value) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NanosFormatter
    }
}

fn main() {
    if std::env::var_os("ESP_BENCH_WALL").is_some() {
        let mut c = Criterion::<WallTime>::default().configure_from_args();
        seal(&mut c);
        open(&mut c);
        c.final_summary();
    } else {
        let mut c = Criterion::default()
            .with_measurement(ThreadCpuTime)
            .configure_from_args();
        seal(&mut c);
        open(&mut c);
        c.final_summary();
    }
}

//! Lab CLI for the ESP offload card: `cardctl probe --backend model|vfio:<addr> [--json]`.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use driver::lab::{BackendSpec, ProbeReport};
use driver::model::ModelCard;
use driver::vfio::VfioCard;
use driver::{Card, CardConfig, CardSa, Direction, PacketRequest};

#[derive(Parser, Debug)]
#[command(name = "cardctl", about = "Probe and inspect an ESP offload card")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Print identity, capabilities, SA table occupancy and counters.
    Probe {
        /// `model`, or `vfio:<PCI address or sysfs path>` (the simulated card is probed
        /// with `ipsecctl`, which links the simulator).
        #[arg(long, default_value = "model")]
        backend: BackendSpec,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Model only: install two SAs and pass a few packets first, so the report
        /// has something to show.
        #[arg(long)]
        seed: bool,
    },
}

fn print(report: &ProbeReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", report.to_table());
    }
    Ok(())
}

fn seed(card: &mut Card<ModelCard>) -> Result<()> {
    let key = [0x5au8; 20];
    let cfg = esp::SaConfig::new(esp::Spi(0x1001), esp::Transform::AesGcm128, &key)?;
    let out = card.install_sa(CardSa::from_config(&cfg, Direction::Outbound, 0))?;
    let cfg_in = esp::SaConfig::new(esp::Spi(0x2002), esp::Transform::AesGcm128, &key)?;
    card.install_sa(CardSa::from_config(&cfg_in, Direction::Inbound, 0))?;
    let payload = [0u8; 64];
    let req = PacketRequest::outbound(out.0, esp::proto::IPV4, &payload);
    card.process(&[req; 3], &mut Vec::new())?;
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Probe {
            backend,
            json,
            seed: do_seed,
        } => match backend {
            BackendSpec::Model => {
                let mut card = Card::probe(ModelCard::new(), CardConfig::default())
                    .context("probing the model")?;
                if do_seed {
                    seed(&mut card)?;
                }
                print(&ProbeReport::collect(&mut card, "model")?, json)
            }
            BackendSpec::Vfio(dev) => {
                let regs = VfioCard::open(&dev).with_context(|| format!("opening {dev}"))?;
                let mut card =
                    Card::probe(regs, CardConfig::default()).with_context(|| format!("probing {dev}"))?;
                print(&ProbeReport::collect(&mut card, &format!("vfio:{dev}"))?, json)
            }
            BackendSpec::Sim => bail!(
                "the simulated card is not linked into cardctl; use `ipsecctl card probe --backend sim`"
            ),
        },
    }
}

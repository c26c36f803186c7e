//! The lab fault schedule of the model card: the faults `[daemon] model_faults`
//! injects into the driver's model backend while the daemon runs, and their parser.
//! Plain data with no dependency on the rest of the daemon; `card` applies a
//! schedule to the model's fault handle.

/// What a fault-schedule step does to the model card (the driver's `FaultHandle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// The engine hangs at the next doorbell (no result ever comes).
    Hang,
    /// A hang ends.
    Heal,
    /// The next `n` results come back with one byte flipped.
    Corrupt(u32),
    /// The card resets itself at the next doorbell (its SA table is lost).
    Reset,
    /// Every completion takes this many extra status polls.
    Slow(u32),
    /// Installs of this SPI are refused.
    Reject(u32),
    /// The next `n` outbound packets are sealed with the previous packet's IV (a
    /// repeated nonce, which the driver's per-result check must catch).
    RepeatIv(u32),
    /// The counter of the next outbound packet's SA steps back by this many numbers.
    StepBack(u64),
}

/// A lab feature of the model backend: faults injected into the card while the
/// daemon runs, each once the card has completed a number of packets (and SA
/// commands). Written in `[daemon] model_faults` as `ACTION[:ARG][@PACKETS]`:
/// `hang`, `heal`, `corrupt[:N]`, `reset`, `slow:POLLS`, `reject:SPI`, `repeat_iv[:N]`,
/// `step_back:K`; without
/// `@PACKETS` a step applies at start. Example: `["corrupt:1@500", "hang@2000"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultSchedule {
    /// (packets completed, action), in the order given.
    pub steps: Vec<(u64, FaultAction)>,
}

fn parse_num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

impl FaultSchedule {
    /// Parses one step; the error says what is wrong with it.
    pub fn parse_step(step: &str) -> Result<(u64, FaultAction), String> {
        let (what, at) = match step.split_once('@') {
            Some((w, a)) => (
                w,
                parse_num(a.trim())
                    .ok_or_else(|| format!("fault step '{step}': '@{a}' is not a packet count"))?,
            ),
            None => (step, 0),
        };
        let (name, arg) = match what.split_once(':') {
            Some((n, a)) => (n.trim(), Some(a.trim())),
            None => (what.trim(), None),
        };
        let num = |max: u64| -> Result<u64, String> {
            let a = arg.ok_or_else(|| format!("fault step '{step}': '{name}' needs ':NUMBER'"))?;
            parse_num(a)
                .filter(|&n| n <= max)
                .ok_or_else(|| format!("fault step '{step}': '{a}' is not a number up to {max}"))
        };
        let no_arg = |a: FaultAction| match arg {
            None => Ok(a),
            Some(_) => Err(format!("fault step '{step}': '{name}' takes no argument")),
        };
        let action = match name {
            "hang" => no_arg(FaultAction::Hang)?,
            "heal" => no_arg(FaultAction::Heal)?,
            "reset" => no_arg(FaultAction::Reset)?,
            "corrupt" => FaultAction::Corrupt(match arg {
                None => 1,
                Some(_) => u32::try_from(num(u64::from(u32::MAX))?).unwrap_or(u32::MAX),
            }),
            "slow" => FaultAction::Slow(u32::try_from(num(1_000_000)?).unwrap_or(u32::MAX)),
            "reject" => FaultAction::Reject(
                u32::try_from(num(u64::from(u32::MAX))?).unwrap_or(u32::MAX),
            ),
            "repeat_iv" => FaultAction::RepeatIv(match arg {
                None => 1,
                Some(_) => u32::try_from(num(u64::from(u32::MAX))?).unwrap_or(u32::MAX),
            }),
            "step_back" => FaultAction::StepBack(num(u64::from(u32::MAX))?),
            other => {
                return Err(format!(
                    "fault step '{step}': unknown fault '{other}' (expected hang, heal, corrupt, reset, slow, reject, repeat_iv or step_back)"
                ))
            }
        };
        Ok((at, action))
    }

    /// Parses a list of steps.
    pub fn parse<S: AsRef<str>>(steps: &[S]) -> Result<Self, String> {
        let steps = steps
            .iter()
            .map(|s| Self::parse_step(s.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FaultSchedule { steps })
    }

    /// True when there is nothing to inject.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_schedule_parses_every_fault() {
        let s = FaultSchedule::parse(&[
            "hang@2000",
            "heal@0x100",
            "corrupt",
            "corrupt:5@10",
            "reset@7",
            "slow:30",
            "reject:0xc0000a01",
            "repeat_iv@400",
            "repeat_iv:3",
            "step_back:2@9",
        ])
        .expect("valid");
        assert_eq!(
            s.steps,
            vec![
                (2000, FaultAction::Hang),
                (256, FaultAction::Heal),
                (0, FaultAction::Corrupt(1)),
                (10, FaultAction::Corrupt(5)),
                (7, FaultAction::Reset),
                (0, FaultAction::Slow(30)),
                (0, FaultAction::Reject(0xc000_0a01)),
                (400, FaultAction::RepeatIv(1)),
                (0, FaultAction::RepeatIv(3)),
                (9, FaultAction::StepBack(2)),
            ]
        );
    }

    #[test]
    fn fault_schedule_errors_name_the_step() {
        for (bad, says) in [
            ("melt@5", "unknown fault 'melt'"),
            ("hang@soon", "not a packet count"),
            ("hang:3", "takes no argument"),
            ("slow", "needs ':NUMBER'"),
            ("reject:0x1ffffffff", "not a number up to"),
            ("step_back", "needs ':NUMBER'"),
        ] {
            let e = FaultSchedule::parse(&[bad]).expect_err(bad);
            assert!(e.contains(bad) && e.contains(says), "{bad}: {e}");
        }
    }
}

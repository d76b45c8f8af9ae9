//! The trial plan's life (manual §0 notes): 30 days of use, then closed; it
//! can still be converted to the basic plan until 15 days after its end,
//! after which the tenant is closed for good.

use crate::model::Plan;
use crate::{UnixTime, DAY};

/// Days a trial lasts.
pub const TRIAL_DAYS: i64 = 30;
/// Days after the trial's end during which it can become basic.
pub const CONVERSION_DAYS: i64 = 15;

/// Where a tenant stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanState {
    /// In use.
    Active,
    /// The trial ended; no access, but it can still become basic.
    TrialEnded,
    /// The trial ended more than 15 days ago: closed for good.
    Closed,
}

/// The state of a tenant on `plan` that started at `started_at`.
pub fn plan_state(plan: Plan, started_at: UnixTime, now: UnixTime) -> PlanState {
    if plan == Plan::Basic {
        return PlanState::Active;
    }
    let end = started_at + TRIAL_DAYS * DAY;
    if now < end {
        PlanState::Active
    } else if now < end + CONVERSION_DAYS * DAY {
        PlanState::TrialEnded
    } else {
        PlanState::Closed
    }
}

/// Whether a trial that started at `started_at` may become basic at `now`.
pub fn can_convert(plan: Plan, started_at: UnixTime, now: UnixTime) -> bool {
    plan == Plan::Trial && plan_state(plan, started_at, now) != PlanState::Closed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_life() {
        let start = 1_000_000;
        assert_eq!(
            plan_state(Plan::Trial, start, start + 30 * DAY - 1),
            PlanState::Active
        );
        assert_eq!(
            plan_state(Plan::Trial, start, start + 30 * DAY),
            PlanState::TrialEnded
        );
        assert_eq!(
            plan_state(Plan::Trial, start, start + 45 * DAY - 1),
            PlanState::TrialEnded
        );
        assert_eq!(
            plan_state(Plan::Trial, start, start + 45 * DAY),
            PlanState::Closed
        );
        assert_eq!(
            plan_state(Plan::Basic, start, start + 1000 * DAY),
            PlanState::Active
        );
        assert!(can_convert(Plan::Trial, start, start + 40 * DAY));
        assert!(!can_convert(Plan::Trial, start, start + 46 * DAY));
        assert!(!can_convert(Plan::Basic, start, start));
    }
}

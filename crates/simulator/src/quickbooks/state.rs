//! The QuickBooks provider's own state, beside the engine's: its settings, the companies' realm
//! ids, and its own random numbers (the occasional Fault inside a 200, `intuit_tid`). It sits
//! behind its own lock, taken while the engine's may be held, so code holding it never takes the
//! engine's.

use std::sync::{Arc, Mutex, MutexGuard};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::engine::sim::Simulator;
use crate::quickbooks::config::{CompanyOffset, Config};
use crate::quickbooks::time::local_ms;

/// The first company's realm id; the others follow.
const FIRST_REALM: u64 = 9_341_453_000_174_560;

/// The realm id of company `index`: 16 digits, as Intuit's production realms have.
pub fn realm_id(index: usize) -> String {
    (FIRST_REALM + index as u64 * 7).to_string()
}

/// The company a realm id names.
pub fn realm_index(realm: &str) -> Option<usize> {
    let number: u64 = realm.parse().ok()?;
    let delta = number.checked_sub(FIRST_REALM)?;
    (delta % 7 == 0)
        .then(|| usize::try_from(delta / 7).ok())
        .flatten()
}

/// The QuickBooks provider.
#[derive(Debug)]
pub(crate) struct QuickBooks {
    pub config: Config,
    inner: Mutex<StdRng>,
}

/// A handle for the QuickBooks routes: the engine and the provider.
#[derive(Debug, Clone)]
pub(crate) struct Qb {
    pub sim: Simulator,
    pub qb: Arc<QuickBooks>,
}

impl QuickBooks {
    pub fn new(config: Config) -> Self {
        let rng = StdRng::seed_from_u64(config.random_seed ^ 0x0B0E_2000);
        Self {
            config,
            inner: Mutex::new(rng),
        }
    }

    fn rng(&self) -> MutexGuard<'_, StdRng> {
        // As with the engine's lock: a test double takes over a poisoned lock.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether this request meets the occasional Fault inside a 200.
    pub fn fault_in_200_now(&self) -> bool {
        let rate = self.config.fault_in_200_rate;
        rate > 0.0 && self.rng().random_bool(rate.min(1.0))
    }

    /// A fresh `intuit_tid` (a transaction id for support).
    pub fn transaction_id(&self) -> String {
        let bits: u128 = self.rng().random();
        let hex = format!("{bits:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

impl Qb {
    /// The UTC offset of company `tenant`.
    pub fn offset(&self, tenant: usize) -> CompanyOffset {
        self.qb.config.offset(tenant)
    }

    /// The response's `time` for company `tenant`: now on the provider's clock, in its offset.
    pub fn time(&self, tenant: usize) -> String {
        let now = {
            let state = self.sim.state();
            self.sim.provider_now(&state)
        };
        local_ms(now, self.offset(tenant))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_ids_name_their_company_and_nothing_else() {
        for index in [0, 1, 99] {
            assert_eq!(realm_index(&realm_id(index)), Some(index));
        }
        assert_eq!(realm_id(0).len(), 16);
        assert_eq!(realm_index("9341453000174561"), None);
        assert_eq!(realm_index("123"), None);
        assert_eq!(realm_index("company"), None);
    }
}

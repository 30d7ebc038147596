//! The element registry: the built-in definitions embedded from `definitions/*.toml`, plus
//! every `*.toml` of a folder the operator names, each parsed and validated when loaded, with
//! origin overrides (`TRIBUTARY_<KEY>_ORIGIN`) applied to any of them.
//!
//! A file that does not parse or validate is an error naming the file and the problem; a key
//! defined twice is an error naming both files. Nothing is loaded lazily: a registry that exists
//! is one whose every template, formatter, pager and dialect was checked.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::definition::{Element, ElementError, origin_variable};

/// The built-in element definitions, embedded in the binary: the one list of them.
const BUILTIN: &[(&str, &str)] = &[
    (
        "infusionsoftrest.toml",
        include_str!("../definitions/infusionsoftrest.toml"),
    ),
    ("sfdc.toml", include_str!("../definitions/sfdc.toml")),
    (
        "hubspotcrm.toml",
        include_str!("../definitions/hubspotcrm.toml"),
    ),
    (
        "quickbooks.toml",
        include_str!("../definitions/quickbooks.toml"),
    ),
];

/// A built-in element's definition as written (comments included), by its key.
pub fn builtin_definition(key: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|(file, _)| file.strip_suffix(".toml") == Some(key))
        .map(|(_, text)| *text)
}

/// Parses and validates one definition; errors name `file`.
pub fn parse_definition(file: &str, text: &str) -> Result<Element, ElementError> {
    let definition = |message: String| ElementError::Definition {
        file: file.to_owned(),
        message,
    };
    let mut element: Element = toml::from_str(text).map_err(|e| definition(e.to_string()))?;
    crate::validate::validate(&mut element).map_err(|problems| definition(problems.join("; ")))?;
    Ok(element)
}

/// The elements this server knows.
#[derive(Debug, Clone)]
pub struct Registry {
    elements: Vec<Arc<Element>>,
    /// The file each element of the folder came from, by key (built-in ones are absent).
    local: BTreeMap<String, String>,
    /// The folder's files that were refused, each error naming its file.
    refused: Vec<ElementError>,
    /// The elements whose origin the operator set (`TRIBUTARY_<KEY>_ORIGIN`).
    operator_origins: std::collections::BTreeSet<String>,
}

impl Registry {
    /// The built-in elements, with origins replaced where `origin_of(key)` says so.
    pub fn builtin(origin_of: impl Fn(&str) -> Option<String>) -> Result<Registry, ElementError> {
        let mut registry = Registry::load(None)?;
        let origins: BTreeMap<String, String> = registry
            .keys()
            .into_iter()
            .filter_map(|key| Some((key.to_owned(), origin_of(key)?)))
            .collect();
        registry = registry.with_origins(&origins)?;
        Ok(registry)
    }

    /// The built-in elements and every `*.toml` in `folder` (in file-name order). A file of the
    /// folder that cannot be read, does not parse or validate, or repeats a key already loaded
    /// is refused by name ([`Registry::refused`]) and the others load; an error is only a
    /// folder that cannot be listed (or a built-in definition that does not validate).
    pub fn load(folder: Option<&Path>) -> Result<Registry, ElementError> {
        let mut registry = Registry {
            elements: Vec::with_capacity(BUILTIN.len()),
            local: BTreeMap::new(),
            refused: Vec::new(),
            operator_origins: Default::default(),
        };
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (file, text) in BUILTIN {
            let element = parse_definition(file, text)?;
            seen.insert(element.key.clone(), (*file).to_owned());
            registry.elements.push(Arc::new(element));
        }
        let Some(folder) = folder else {
            return Ok(registry);
        };
        for (path, text) in read_folder(folder)? {
            let element = match text.and_then(|text| parse_definition(&path, &text)) {
                Ok(element) => element,
                Err(error) => {
                    registry.refused.push(error);
                    continue;
                }
            };
            if let Some(first) = seen.get(&element.key) {
                registry.refused.push(ElementError::Duplicate {
                    key: element.key.clone(),
                    first: first.clone(),
                    second: path,
                });
                continue;
            }
            seen.insert(element.key.clone(), path.clone());
            registry.local.insert(element.key.clone(), path);
            registry.elements.push(Arc::new(element));
        }
        Ok(registry)
    }

    /// Removes an element of the folder (never a built-in one), recording why by its file: the
    /// server's origin guard refuses a definition this way.
    pub fn refuse(&mut self, key: &str, message: String) {
        let Some(file) = self.local.remove(key) else {
            return;
        };
        self.elements.retain(|e| e.key != key);
        self.refused
            .push(ElementError::Definition { file, message });
    }

    /// The folder's files refused at load, each error naming its file and the problem.
    pub fn refused(&self) -> &[ElementError] {
        &self.refused
    }

    /// The file an element was loaded from, or `None` for a built-in one.
    pub fn local_file(&self, key: &str) -> Option<&str> {
        self.local.get(key).map(String::as_str)
    }

    /// Replaces the origins of the named elements (key → origin); a key that names no element
    /// is an error naming its variable.
    pub fn with_origins(
        mut self,
        origins: &BTreeMap<String, String>,
    ) -> Result<Registry, ElementError> {
        for (key, origin) in origins {
            let variable = origin_variable(key);
            let Some(slot) = self.elements.iter_mut().find(|e| &e.key == key) else {
                return Err(ElementError::UnknownOverride {
                    variable,
                    known: self.keys().join(", "),
                });
            };
            let mut element = Element::clone(slot);
            element.set_origin(&variable, origin)?;
            *slot = Arc::new(element);
            self.operator_origins.insert(key.clone());
        }
        Ok(self)
    }

    /// Whether the provider calls of an element go where nobody vouched for: a definition of
    /// the elements folder whose origin the operator did not set. Such calls pass the address
    /// guard after DNS (the server's provider client for unvouched elements).
    pub fn unvouched(&self, key: &str) -> bool {
        self.local.contains_key(key) && !self.operator_origins.contains(key)
    }

    pub fn get(&self, key: &str) -> Option<Arc<Element>> {
        self.elements.iter().find(|e| e.key == key).cloned()
    }

    pub fn all(&self) -> &[Arc<Element>] {
        &self.elements
    }

    /// Every element key, built-in ones first.
    pub fn keys(&self) -> Vec<&str> {
        self.elements.iter().map(|e| e.key.as_str()).collect()
    }
}

/// The `*.toml` files of a folder, by name, each with its text or the error reading it.
type FolderFiles = Vec<(String, Result<String, ElementError>)>;

fn read_folder(folder: &Path) -> Result<FolderFiles, ElementError> {
    let error = |message: String| ElementError::Folder {
        path: folder.display().to_string(),
        message,
    };
    let entries = std::fs::read_dir(folder).map_err(|e| error(e.to_string()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| error(e.to_string()))?.path();
        if path.extension().is_some_and(|x| x == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| ElementError::Definition {
                file: file.clone(),
                message: e.to_string(),
            });
            (file, text)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn infusionsoft(origin: Option<&str>) -> Arc<Element> {
        let origin = origin.map(str::to_owned);
        Registry::builtin(|_| origin.clone())
            .expect("built-in definitions parse")
            .get("infusionsoftrest")
            .expect("infusionsoftrest is built in")
    }

    fn folder(files: &[(&str, &str)]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "tributary-registry-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn each_built_in_definition_is_found_by_its_key() {
        let registry = Registry::load(None).unwrap();
        for key in registry.keys() {
            let text = builtin_definition(key).unwrap_or_else(|| panic!("{key} not found"));
            assert_eq!(parse_definition(key, text).unwrap().key, key);
        }
        assert_eq!(builtin_definition("nope"), None);
    }

    #[test]
    fn infusionsoftrest_declares_the_nine_resources_on_the_crm_hub() {
        use tributary_domain::instance_config::ResourceCatalog;
        let element = infusionsoft(None);
        assert_eq!(element.hub, "crm");
        assert_eq!(element.auth.token_url, "https://api.infusionsoft.com/token");
        let names = element.resource_names();
        assert_eq!(
            names,
            [
                "contacts",
                "companies",
                "opportunities",
                "tasks",
                "notes",
                "appointments",
                "orders",
                "products",
                "transactions"
            ]
        );
        assert_eq!(
            element.resource("contacts").unwrap().filters["email"],
            "email"
        );
        let contacts = element.public_json()["resources"][0]["filters"].clone();
        assert_eq!(
            contacts,
            json!(["email", "family_name", "given_name", "since", "until"])
        );
    }

    #[test]
    fn default_pollers_exist_exactly_for_resources_with_change_dates() {
        let element = infusionsoft(None);
        let defaults = element.default_poller_configuration();
        let mut keys: Vec<&String> = defaults.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "appointments",
                "contacts",
                "notes",
                "opportunities",
                "orders",
                "tasks",
                "transactions"
            ]
        );
        // The seed's own appointments configuration, verbatim.
        assert_eq!(
            defaults["appointments"],
            json!({"url": "/hubs/crm/appointments", "idField": "id", "datesConfiguration": {
                "updatedDateField": "modification_date", "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
                "updatedDateTimezone": "GMT", "createdDateField": "creation_date",
                "createdDateFormat": "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "createdDateTimezone": "GMT"}})
        );
        assert_eq!(defaults["transactions"]["filterByUpdatedDate"], false);
    }

    #[test]
    fn the_default_pollers_pass_instance_validation() {
        use tributary_domain::instance_config::{EventsSettings, POLLER_CONFIGURATION};
        let element = infusionsoft(None);
        let config = BTreeMap::from([(
            POLLER_CONFIGURATION.to_owned(),
            element.default_poller_configuration().to_string(),
        )]);
        let settings = EventsSettings::read(&config, element.as_ref()).expect("defaults are valid");
        assert_eq!(settings.pollers.len(), 7);
    }

    #[test]
    fn an_origin_override_moves_every_provider_url_and_keeps_the_paths() {
        let element = infusionsoft(Some("http://127.0.0.1:9090"));
        assert_eq!(
            element.auth.authorization_url,
            "http://127.0.0.1:9090/app/oauth/authorize"
        );
        assert_eq!(element.auth.token_url, "http://127.0.0.1:9090/token");
        assert_eq!(element.api.base_url, "http://127.0.0.1:9090/crm/rest/v1");
    }

    #[test]
    fn a_bad_origin_override_is_refused_naming_the_variable() {
        for origin in ["ftp://x", "not a url", "http://"] {
            let error =
                Registry::builtin(|key| (key == "infusionsoftrest").then(|| origin.to_owned()))
                    .expect_err(origin);
            assert!(
                error
                    .to_string()
                    .contains("TRIBUTARY_INFUSIONSOFTREST_ORIGIN"),
                "{error}"
            );
        }
        let error = Registry::load(None)
            .unwrap()
            .with_origins(&BTreeMap::from([(
                "nosuch".to_owned(),
                "http://127.0.0.1:1".to_owned(),
            )]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("TRIBUTARY_NOSUCH_ORIGIN names no element")
                && error.contains("infusionsoftrest"),
            "{error}"
        );
    }

    #[test]
    fn the_authorize_url_carries_the_client_redirect_scope_and_state() {
        let element = infusionsoft(None);
        let url = element
            .authorize_url(
                "my-app",
                "https://client.example/cb?x=1",
                "infusionsoftrest",
                None,
            )
            .unwrap();
        assert_eq!(
            url,
            "https://accounts.infusionsoft.com/app/oauth/authorize?client_id=my-app\
             &redirect_uri=https%3A%2F%2Fclient.example%2Fcb%3Fx%3D1&response_type=code&scope=full\
             &state=infusionsoftrest"
        );
    }

    #[test]
    fn a_folder_adds_its_definitions_and_its_keys_take_overrides() {
        let text = crate::validate::tests::MINIMAL;
        let dir = folder(&[("second.toml", text), ("notes.txt", "not a definition")]);
        let registry = Registry::load(Some(&dir)).unwrap();
        assert_eq!(
            registry.keys(),
            [
                "infusionsoftrest",
                "sfdc",
                "hubspotcrm",
                "quickbooks",
                "second"
            ]
        );
        // The folder's definition goes where nobody vouched for, until the operator sets its
        // origin; built-in ones are vouched for (with or without an override).
        assert!(registry.unvouched("second"));
        assert!(!registry.unvouched("infusionsoftrest"));
        let moved = registry
            .with_origins(&BTreeMap::from([
                ("second".to_owned(), "http://127.0.0.1:7".to_owned()),
                ("sfdc".to_owned(), "http://127.0.0.1:8".to_owned()),
            ]))
            .unwrap();
        assert_eq!(
            moved.get("second").unwrap().api.base_url,
            "http://127.0.0.1:7/api"
        );
        assert!(!moved.unvouched("second"));
        assert!(!moved.unvouched("sfdc"));
    }

    #[test]
    fn a_bad_file_or_a_repeated_key_is_refused_by_name_and_the_rest_load() {
        let again = crate::validate::tests::MINIMAL.replace("\"second\"", "\"infusionsoftrest\"");
        let twice = crate::validate::tests::MINIMAL.replace("\"second\"", "\"third\"");
        let dir = folder(&[
            ("a_broken.toml", "key = "),
            ("b_again.toml", &again),
            ("c_second.toml", crate::validate::tests::MINIMAL),
            ("d_second_too.toml", crate::validate::tests::MINIMAL),
            ("e_third.toml", &twice),
        ]);
        let registry = Registry::load(Some(&dir)).unwrap();
        assert_eq!(
            registry.keys(),
            [
                "infusionsoftrest",
                "sfdc",
                "hubspotcrm",
                "quickbooks",
                "second",
                "third"
            ]
        );
        let refused: Vec<String> = registry.refused().iter().map(|e| e.to_string()).collect();
        assert_eq!(refused.len(), 3, "{refused:?}");
        assert!(refused[0].contains("a_broken.toml"), "{refused:?}");
        assert!(
            refused[1].contains("\"infusionsoftrest\" is defined twice")
                && refused[1].contains("infusionsoftrest.toml")
                && refused[1].contains("b_again.toml"),
            "{refused:?}"
        );
        assert!(
            refused[2].contains("\"second\" is defined twice")
                && refused[2].contains("c_second.toml")
                && refused[2].contains("d_second_too.toml"),
            "{refused:?}"
        );
        assert_eq!(registry.local_file("infusionsoftrest"), None);
        assert!(
            registry
                .local_file("second")
                .is_some_and(|f| f.ends_with("c_second.toml"))
        );

        let error = Registry::load(Some(Path::new("/no/such/folder")))
            .unwrap_err()
            .to_string();
        assert!(error.contains("/no/such/folder"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

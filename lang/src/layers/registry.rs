//! The registry: layer names to plugins.

use super::LayerKind;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Maps layer names to kinds. [`Registry::default`] holds the built-ins.
#[derive(Clone)]
pub struct Registry {
    kinds: BTreeMap<&'static str, Arc<dyn LayerKind>>,
}

/// Registering a name twice.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("a layer kind named `{0}` is already registered")]
pub struct AlreadyRegistered(pub &'static str);

impl Registry {
    /// A registry with no kinds at all.
    pub fn empty() -> Registry {
        Registry { kinds: BTreeMap::new() }
    }

    pub fn register(&mut self, kind: impl LayerKind + 'static) -> Result<(), AlreadyRegistered> {
        self.register_arc(Arc::new(kind))
    }

    pub fn register_arc(&mut self, kind: Arc<dyn LayerKind>) -> Result<(), AlreadyRegistered> {
        let name = kind.name();
        if self.kinds.contains_key(name) {
            return Err(AlreadyRegistered(name));
        }
        self.kinds.insert(name, kind);
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn LayerKind>> {
        self.kinds.get(name)
    }

    /// Every kind, sorted by name.
    pub fn kinds(&self) -> impl Iterator<Item = &Arc<dyn LayerKind>> {
        self.kinds.values()
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.kinds.keys().copied()
    }
}

impl Default for Registry {
    fn default() -> Registry {
        let mut registry = Registry::empty();
        super::register_builtins(&mut registry);
        registry
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.kinds.keys()).finish()
    }
}

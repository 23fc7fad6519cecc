//! (filled by the plugin's change)

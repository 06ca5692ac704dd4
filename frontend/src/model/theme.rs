//! Light, dark, or whatever the system prefers.
//!
//! The choice is stored and applied as `data-theme` on `<html>`; the CSS
//! (`style.css`) uses `light-dark()` colours with `color-scheme`, so
//! `auto` follows `prefers-color-scheme` with no script at all.

/// The colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Theme {
    /// Follow the system (`prefers-color-scheme`).
    #[default]
    Auto,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl Theme {
    /// The `data-theme` value (and the stored one).
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The theme for a stored name; anything else is `Auto`.
    pub fn from_name(name: &str) -> Theme {
        match name {
            "light" => Theme::Light,
            "dark" => Theme::Dark,
            _ => Theme::Auto,
        }
    }

    /// What the theme button switches to: auto → light → dark → auto.
    pub fn next(self) -> Theme {
        match self {
            Theme::Auto => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::Auto,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_button_cycles_through_all_three() {
        let mut t = Theme::default();
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(t.name());
            t = t.next();
        }
        assert_eq!(seen, ["auto", "light", "dark"]);
        assert_eq!(t, Theme::Auto);
        for t in [Theme::Auto, Theme::Light, Theme::Dark] {
            assert_eq!(Theme::from_name(t.name()), t);
        }
        assert_eq!(Theme::from_name("purple"), Theme::Auto);
    }
}

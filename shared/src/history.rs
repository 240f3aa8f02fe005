//! The administrative history: every listing units are read in, the dates
//! each was in force, and the merge tables that say which unit became which.
//!
//! Viet Nam's units changed on 1 July 2025: districts were abolished and
//! 10,051 communes became 3,321, most of them under codes the old listing
//! used for other places. sync178 therefore never reads a code alone:
//!
//! * Every listing is an [`Edition`], named by the year it came into force,
//!   and its units are ids of that edition (`c00004` in 2024,
//!   `c00004@2025` after the reform): two listings never share a unit.
//! * A bare id in an event is read in the listing in force on the event's
//!   `occurred_on` ([`History::read`]); an id with an edition must be in
//!   force on that date. The dates are data (the manifest), not code.
//! * A merge table maps every commune of one listing onto the next one's
//!   (`whole`: one successor; `split`: several, exactly one the `default`).
//!   Provinces and districts follow their communes. Following default
//!   successors to the last listing gives a unit's place in today's
//!   structure ([`History::today_path`]); a commune no row maps is
//!   *unmapped*: its records count for today's province, never for a
//!   commune, and it is listed as such.
//!
//! The manifest (`history.toml`) lists the listings in order:
//!
//! ```toml
//! [[listing]]
//! edition = 2024
//! file = "vn-admin-units-2024.csv"
//!
//! [[listing]]
//! edition = 2025
//! from = "2025-07-01"
//! file = "vn-admin-units-2025.csv"
//! merges = "vn-commune-merges-2025.csv"   # from the listing before
//! ```
//!
//! A further reform is one more `[[listing]]` with its merge table, and no
//! code change. A single listing CSV, as deployments before the history
//! used, is a history of one listing of edition 2024 in force on every date.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::i18n::{self, Lang, Localized};
use crate::period::{Date, format_date, parse_date};
use crate::topology::{Topology, TopologyError};
use crate::unit::{Edition, Level, UnitError, UnitId};

/// Header of a merge table (the shipped `vn-commune-merges-2025.csv`).
pub const MERGE_HEADER: [&str; 9] = [
    "old_province_code",
    "old_district_code",
    "old_commune_code",
    "old_commune_name",
    "new_province_code",
    "new_commune_code",
    "new_commune_name",
    "kind",
    "default",
];

/// One listing of a [`History`].
#[derive(Debug, Clone)]
pub struct Listing {
    /// The edition its ids carry.
    edition: Edition,
    /// First day in force; `None` for the first listing (in force before
    /// anything else).
    from: Option<Date>,
    /// Last day in force; `None` for the listing in force today.
    until: Option<Date>,
    /// Names the input, for messages.
    source: String,
}

impl Listing {
    /// The edition its ids carry.
    pub fn edition(&self) -> Edition {
        self.edition
    }

    /// First day in force (`None`: since before any other listing).
    pub fn from(&self) -> Option<Date> {
        self.from
    }

    /// Last day in force (`None`: still in force).
    pub fn until(&self) -> Option<Date> {
        self.until
    }

    /// Whether the listing is in force on `day`.
    pub fn in_force_on(&self, day: Date) -> bool {
        self.from.is_none_or(|f| f <= day) && self.until.is_none_or(|u| day <= u)
    }
}

impl fmt::Display for Listing {
    /// `listing 2025 (from 2025-07-01)`, `listing 2024 (until 2025-06-30)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&listing_label(
            Lang::En,
            self.edition,
            self.from,
            self.until,
        ))
    }
}

/// A listing as people read it: `listing 2024 (until 2025-06-30)` (en),
/// `danh mục 2024 (đến 30/06/2025)` (vi).
fn listing_label(lang: Lang, edition: Edition, from: Option<Date>, until: Option<Date>) -> String {
    let d = |d| i18n::date(lang, d);
    let span = match (from, until) {
        (Some(a), Some(b)) => format!(" ({} – {})", d(a), d(b)),
        (Some(a), None) => format!(" ({} {})", lang.pick("từ", "from"), d(a)),
        (None, Some(b)) => format!(" ({} {})", lang.pick("đến", "until"), d(b)),
        (None, None) => String::new(),
    };
    format!("{} {edition}{span}", lang.pick("danh mục", "listing"))
}

/// Why a history could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The manifest could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        error: std::io::Error,
    },
    /// The manifest is not valid TOML of the expected shape.
    #[error("{file}: {error}")]
    Manifest {
        /// The manifest.
        file: String,
        /// What is wrong.
        error: String,
    },
    /// A listing file is wrong.
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// A merge table is not readable CSV.
    #[error("{file}: {error}")]
    Csv {
        /// The table.
        file: String,
        /// What went wrong.
        error: csv::Error,
    },
    /// A merge table's row is wrong; `row` counts data rows from 1 (the
    /// header is line 1, so row 1 is line 2).
    #[error("{file} row {row}: {reason}")]
    MergeRow {
        /// The table.
        file: String,
        /// Data row number, from 1.
        row: u64,
        /// What is wrong, naming the field and the unit.
        reason: String,
    },
    /// An old province with no place in the next listing: none of its
    /// communes is mapped and no province has its code.
    #[error(
        "{file}: province {unit} has no place in the next listing: none of its communes \
         is mapped and no province there has its code"
    )]
    NoPlace {
        /// The table.
        file: String,
        /// The old province.
        unit: UnitId,
    },
    /// A split commune has no default successor, or more than one.
    #[error(
        "{file}: split commune {unit} (row {row}) has {defaults} default successors, expected exactly 1"
    )]
    SplitDefault {
        /// The table.
        file: String,
        /// The old commune.
        unit: UnitId,
        /// Its first row.
        row: u64,
        /// How many rows say `default = yes`.
        defaults: usize,
    },
}

/// A merge-table row, as read.
struct MergeRow {
    row: u64,
    old: UnitId,
    new: UnitId,
    default: bool,
    whole: bool,
}

/// One listing with its tree, while loading.
pub struct ListingInput {
    /// The edition its ids get.
    pub edition: Edition,
    /// First day in force; must be `None` for the first listing only.
    pub from: Option<Date>,
    /// The tree, as read from the listing file (ids of the first edition).
    pub topology: Topology,
    /// The merge table from the previous listing (CSV bytes) and its name;
    /// `None` for the first listing.
    pub merges: Option<(Vec<u8>, String)>,
}

/// Every listing, in order, with the successors between them.
pub struct History {
    listings: Vec<Listing>,
    /// The units of every listing side by side.
    union: Topology,
    /// For each unit of every listing but the last: its successors in the
    /// next listing, default first (empty when none).
    next: HashMap<UnitId, Vec<UnitId>>,
    /// Units of the last listing: the older units whose today's place they are.
    predecessors: HashMap<UnitId, Vec<UnitId>>,
    /// Communes of older listings that no merge row maps.
    unmapped: Vec<UnitId>,
    /// Hash of every input, so a projection built on another history is
    /// noticed.
    fingerprint: [u8; 32],
}

impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("History")
            .field("listings", &self.listings)
            .field("unmapped", &self.unmapped.len())
            .finish()
    }
}

/// The manifest's TOML shape.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    listing: Vec<ManifestListing>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestListing {
    edition: u16,
    file: PathBuf,
    from: Option<String>,
    merges: Option<PathBuf>,
}

impl History {
    /// Reads a manifest (`.toml`) or, for any other file, a single listing
    /// CSV (a history of one listing, edition 2024, in force on every date).
    pub fn from_path(path: &Path) -> Result<History, HistoryError> {
        if path.extension().is_some_and(|e| e == "toml") {
            History::from_manifest(path)
        } else {
            History::single(Topology::from_csv_path(path)?)
        }
    }

    /// A history of one listing in force on every date.
    pub fn single(topology: Topology) -> Result<History, HistoryError> {
        History::from_listings(vec![ListingInput {
            edition: Edition::FIRST,
            from: None,
            topology,
            merges: None,
        }])
    }

    /// Reads a manifest; files are relative to its folder.
    pub fn from_manifest(path: &Path) -> Result<History, HistoryError> {
        let io = |p: &Path| {
            let p = p.to_owned();
            move |error| HistoryError::Io { path: p, error }
        };
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        let file = path.display().to_string();
        let bad = |error: String| HistoryError::Manifest {
            file: file.clone(),
            error,
        };
        let manifest: Manifest = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut inputs = Vec::new();
        for (i, l) in manifest.listing.iter().enumerate() {
            let n = i + 1;
            let edition = Edition::from_year(l.edition)
                .map_err(|e| bad(format!("listing {n}: edition: {e}")))?;
            let from = match &l.from {
                None => None,
                Some(s) => Some(parse_date(s).map_err(|e| bad(format!("listing {n}: from: {e}")))?),
            };
            let topology = Topology::from_csv_path(&dir.join(&l.file))?;
            let merges = match &l.merges {
                None => None,
                Some(m) => {
                    let p = dir.join(m);
                    Some((std::fs::read(&p).map_err(io(&p))?, p.display().to_string()))
                }
            };
            inputs.push(ListingInput {
                edition,
                from,
                topology,
                merges,
            });
        }
        History::from_listings(inputs).map_err(|e| match e {
            HistoryError::Manifest { error, .. } => bad(error),
            other => other,
        })
    }

    /// Builds a history from listings in order; checks the editions and
    /// dates increase, that only the first listing lacks `from` and a merge
    /// table, and every merge row (see [`HistoryError`]).
    pub fn from_listings(inputs: Vec<ListingInput>) -> Result<History, HistoryError> {
        let manifest = |error: String| HistoryError::Manifest {
            file: "history".to_owned(),
            error,
        };
        if inputs.is_empty() {
            return Err(manifest("no listing".to_owned()));
        }
        let mut hasher = blake3::Hasher::new();
        let mut listings: Vec<Listing> = Vec::new();
        let mut trees: Vec<Topology> = Vec::new();
        let mut tables = Vec::new();
        for (i, input) in inputs.into_iter().enumerate() {
            let n = i + 1;
            let e = input.edition;
            if let Some(prev) = listings.last() {
                if e <= prev.edition {
                    return Err(manifest(format!(
                        "listing {n}: edition {e} must come after {}",
                        prev.edition
                    )));
                }
                let Some(from) = input.from else {
                    return Err(manifest(format!(
                        "listing {n} (edition {e}): from must be given"
                    )));
                };
                if i32::from(e.year()) != from.year() {
                    return Err(manifest(format!(
                        "listing {n}: edition {e} must come into force in {e}, not on {}",
                        format_date(from)
                    )));
                }
                if prev.from.is_some_and(|p| p >= from) {
                    return Err(manifest(format!(
                        "listing {n}: from {} is not after the previous listing's",
                        format_date(from)
                    )));
                }
                if input.merges.is_none() {
                    return Err(manifest(format!(
                        "listing {n} (edition {e}): merges (the table from edition {}) must be given",
                        prev.edition
                    )));
                }
            } else if input.from.is_some() || input.merges.is_some() {
                return Err(manifest(
                    "listing 1: the first listing takes neither from nor merges".to_owned(),
                ));
            }
            let source = input.topology.source().to_owned();
            hasher.update(&e.year().to_be_bytes());
            hasher.update(input.from.map(format_date).unwrap_or_default().as_bytes());
            let tree = input.topology.in_edition(e);
            let mut csv = Vec::new();
            // Writing to a Vec cannot fail.
            let _ = tree.write_csv(&mut csv);
            hasher.update(&csv);
            if let Some(prev) = listings.last_mut() {
                prev.until = input.from.and_then(Date::previous_day);
            }
            if let Some((bytes, name)) = input.merges {
                hasher.update(&bytes);
                tables.push((bytes, name));
            }
            listings.push(Listing {
                edition: e,
                from: input.from,
                until: None,
                source,
            });
            trees.push(tree);
        }
        let mut next = HashMap::new();
        let mut unmapped = Vec::new();
        for (k, (bytes, name)) in tables.iter().enumerate() {
            let (old, new) = (&trees[k], &trees[k + 1]);
            let rows = read_merges(bytes, name, old, new)?;
            link(old, new, &rows, name, &mut next, &mut unmapped)?;
        }
        let union = Topology::union(trees, "history".to_owned());
        let mut history = History {
            listings,
            union,
            next,
            predecessors: HashMap::new(),
            unmapped,
            fingerprint: *hasher.finalize().as_bytes(),
        };
        let mut predecessors: HashMap<UnitId, Vec<UnitId>> = HashMap::new();
        for u in history.union.units() {
            if u.edition() == history.today().edition {
                continue;
            }
            if let Some(t) = history.place_today(u)
                && t.level() == u.level()
            {
                predecessors.entry(t).or_default().push(u);
            }
        }
        history.predecessors = predecessors;
        Ok(history)
    }

    /// The listings, oldest first.
    pub fn listings(&self) -> &[Listing] {
        &self.listings
    }

    /// The listing in force today (the last one).
    pub fn today(&self) -> &Listing {
        // `from_listings` refuses an empty history.
        &self.listings[self.listings.len() - 1]
    }

    /// The listing in force on `day`.
    pub fn in_force_on(&self, day: Date) -> &Listing {
        self.listings
            .iter()
            .rev()
            .find(|l| l.from.is_none_or(|f| f <= day))
            .unwrap_or(&self.listings[0])
    }

    /// The listing of `edition`, if the history has it.
    pub fn listing(&self, edition: Edition) -> Option<&Listing> {
        self.listings.iter().find(|l| l.edition == edition)
    }

    /// The units of every listing side by side: names, parents, children
    /// and commune counts of any unit of any edition.
    pub fn topology(&self) -> &Topology {
        &self.union
    }

    /// Reads a unit id as written in an event dated `day`: a bare id in the
    /// listing in force that day; an id with an edition must be of that
    /// listing. The error says, in English, which listing was in force.
    pub fn read(&self, text: &str, day: Date) -> Result<UnitId, ReadError> {
        let id: UnitId = text.parse().map_err(ReadError::Parse)?;
        let listing = self.in_force_on(day);
        let explicit = text.contains('@');
        let unit = if explicit {
            id
        } else {
            id.with_edition(listing.edition)
        };
        if unit.edition() != listing.edition || !self.union.contains(unit) {
            let elsewhere = self
                .listings
                .iter()
                .map(|l| unit.with_edition(l.edition))
                .filter(|u| *u != unit && self.union.contains(*u))
                .collect();
            return Err(ReadError::NotInForce {
                unit: text.to_owned(),
                day,
                edition: listing.edition,
                from: listing.from,
                until: listing.until,
                elsewhere,
            });
        }
        Ok(unit)
    }

    /// Reads an id an operator typed for a period ending on `last_day`: an
    /// id with an edition as written; a bare id in the listing in force on
    /// `last_day` if it is there, else in the latest listing that has it.
    pub fn read_for_operator(&self, text: &str, last_day: Date) -> Result<UnitId, UnitError> {
        let id: UnitId = text.parse()?;
        if text.contains('@') {
            return Ok(id);
        }
        let first = id.with_edition(self.in_force_on(last_day).edition);
        if self.union.contains(first) {
            return Ok(first);
        }
        Ok(self
            .listings
            .iter()
            .rev()
            .map(|l| id.with_edition(l.edition))
            .find(|u| self.union.contains(*u))
            .unwrap_or(first))
    }

    /// Whether `unit` lies in `ancestor`'s subtree in its own listing, or
    /// (for a unit of an older listing) its place in `ancestor`'s listing,
    /// following default successors, does. How a node of today's structure
    /// accepts the records of the old units that became part of it.
    pub fn is_within(&self, unit: UnitId, ancestor: UnitId) -> bool {
        if self.union.is_within(unit, ancestor) {
            return true;
        }
        if unit.edition() >= ancestor.edition() {
            return false;
        }
        let mut at = unit;
        while at.edition() < ancestor.edition() {
            match self.step(at) {
                Some(n) => at = n,
                None => return false,
            }
        }
        self.union.is_within(at, ancestor)
    }

    /// A unit's place one listing later: a commune's default successor; a
    /// district's or province's successor at its level, or (when the next
    /// listing has no unit of that level, as districts after 2025) its
    /// province's. `None` for an unmapped commune and in the last listing.
    fn step(&self, unit: UnitId) -> Option<UnitId> {
        let n = self.next.get(&unit).and_then(|n| n.first()).copied();
        if n.is_some() || unit.level() == Level::Commune {
            return n;
        }
        let province = self.union.ancestors(unit).last()?;
        self.next.get(&province)?.first().copied()
    }

    /// The unit of today's structure that `unit`'s records count for: a
    /// commune's default successors followed to the last listing; an
    /// unmapped commune's, or a vanished district's, province's place.
    /// `None` if no province could be found (a listing whose province maps
    /// nowhere, which a valid table does not allow).
    pub fn place_today(&self, unit: UnitId) -> Option<UnitId> {
        let today = self.today().edition;
        let mut at = unit;
        while at.edition() < today {
            match self.step(at) {
                Some(n) => at = n,
                // Unmapped commune: count for its province's place.
                None => return self.place_today(self.union.ancestors(unit).last()?),
            }
        }
        self.union.contains(at).then_some(at)
    }

    /// [`History::place_today`] followed by its ancestors in today's
    /// listing; empty where there is no place.
    pub fn today_path(&self, unit: UnitId) -> Vec<UnitId> {
        self.place_today(unit)
            .map(|at| {
                std::iter::once(at)
                    .chain(self.union.ancestors(at))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The unit whose node `unit`'s node pushes to in today's structure:
    /// its parent in today's listing; for a unit of an older listing, the
    /// province of today that its place lies in (after a reform every old
    /// unit's node hands what it holds to today's province). `None` for
    /// today's provinces.
    pub fn parent_today(&self, unit: UnitId) -> Option<UnitId> {
        if unit.edition() == self.today().edition {
            return self.union.parent(unit);
        }
        self.today_path(unit).last().copied().filter(|p| *p != unit)
    }

    /// Whether `unit` belongs to a listing no longer in force.
    pub fn is_retired(&self, unit: UnitId) -> bool {
        unit.edition() != self.today().edition
    }

    /// Units of older listings whose place today is `unit` (same level),
    /// sorted.
    pub fn predecessors(&self, unit: UnitId) -> &[UnitId] {
        self.predecessors.get(&unit).map_or(&[], Vec::as_slice)
    }

    /// The successors of `unit` in the next listing, default first.
    pub fn successors(&self, unit: UnitId) -> &[UnitId] {
        self.next.get(&unit).map_or(&[], Vec::as_slice)
    }

    /// Communes of older listings that no merge row maps, sorted.
    pub fn unmapped(&self) -> &[UnitId] {
        &self.unmapped
    }

    /// Hash of every listing, date and merge table.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// Writes this history as files [`History::from_path`] reads back to
    /// the same history: `history.toml` in `dir`, one listing CSV per
    /// edition (`listing-<year>.csv`, in its own format) and one merge
    /// table per later listing (`merges-<year>.csv`, a row per commune and
    /// successor, default first). How a province's cut
    /// ([`History::province`]) goes to its nodes without the whole country.
    /// Returns the manifest's path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, HistoryError> {
        let io = |p: &Path| {
            let p = p.to_owned();
            move |error| HistoryError::Io { path: p, error }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let topo = &self.union;
        let code = |u: Option<UnitId>| u.map(UnitId::code_str).unwrap_or_default();
        let name = |u: Option<UnitId>| u.and_then(|u| topo.name(u)).unwrap_or_default();
        let province_of = |u: UnitId| topo.ancestors(u).last();
        let mut manifest = String::from(
            "# Written by sync178 (History::write): one province's administrative history.\n",
        );
        for (k, listing) in self.listings.iter().enumerate() {
            let year = listing.edition.year();
            let communes: Vec<UnitId> = topo
                .units()
                .filter(|u| u.edition() == listing.edition && u.level() == Level::Commune)
                .collect();
            let three_tier = communes.iter().any(|c| {
                topo.parent(*c)
                    .is_some_and(|p| p.level() == Level::District)
            });
            let file = format!("listing-{year}.csv");
            let path = dir.join(&file);
            let mut w = csv::Writer::from_writer(Vec::new());
            let format = if three_tier {
                crate::topology::ListingFormat::ThreeTier
            } else {
                crate::topology::ListingFormat::TwoTier
            };
            let csv_err = |e: csv::Error| HistoryError::Csv {
                file: path.display().to_string(),
                error: e,
            };
            w.write_record(format.header()).map_err(csv_err)?;
            for &c in &communes {
                let parent = topo.parent(c);
                let p = province_of(c);
                let c = Some(c);
                if three_tier {
                    w.write_record([
                        code(p).as_str(),
                        name(p),
                        code(parent).as_str(),
                        name(parent),
                        code(c).as_str(),
                        name(c),
                    ])
                } else {
                    w.write_record([code(p).as_str(), name(p), code(c).as_str(), name(c)])
                }
                .map_err(csv_err)?;
            }
            let bytes = w.into_inner().map_err(|e| io(&path)(e.into_error()))?;
            std::fs::write(&path, bytes).map_err(io(&path))?;
            manifest.push_str(&format!(
                "\n[[listing]]\nedition = {year}\nfile = \"{file}\"\n"
            ));
            if k == 0 {
                continue;
            }
            let from = listing.from.map(format_date).unwrap_or_default();
            let merges = format!("merges-{year}.csv");
            manifest.push_str(&format!("from = \"{from}\"\nmerges = \"{merges}\"\n"));
            let path = dir.join(&merges);
            let csv_err = |e: csv::Error| HistoryError::Csv {
                file: path.display().to_string(),
                error: e,
            };
            let before = self.listings[k - 1].edition;
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(MERGE_HEADER).map_err(csv_err)?;
            for old in topo
                .units()
                .filter(|u| u.edition() == before && u.level() == Level::Commune)
            {
                let successors = self.successors(old);
                let district = topo.parent(old).filter(|d| d.level() == Level::District);
                for (i, &new) in successors.iter().enumerate() {
                    let kind = if successors.len() == 1 {
                        "whole"
                    } else {
                        "split"
                    };
                    w.write_record([
                        code(province_of(old)).as_str(),
                        code(district).as_str(),
                        code(Some(old)).as_str(),
                        name(Some(old)),
                        code(province_of(new)).as_str(),
                        code(Some(new)).as_str(),
                        name(Some(new)),
                        kind,
                        if i == 0 { "yes" } else { "no" },
                    ])
                    .map_err(csv_err)?;
                }
            }
            let bytes = w.into_inner().map_err(|e| io(&path)(e.into_error()))?;
            std::fs::write(&path, bytes).map_err(io(&path))?;
        }
        let path = dir.join("history.toml");
        std::fs::write(&path, manifest).map_err(io(&path))?;
        Ok(path)
    }

    /// Just what one province of today's structure needs: its units, and
    /// every unit of an older listing whose place today lies in it (with
    /// their ancestors), so a province's node and hub know the old units
    /// that became part of it.
    pub fn province(&self, province: UnitId) -> Result<History, HistoryError> {
        let mut keep: HashSet<UnitId> = HashSet::new();
        for u in self.union.units() {
            let path = self.today_path(u);
            let inside = if u.edition() == self.today().edition {
                self.union.is_within(u, province)
            } else {
                path.contains(&province)
            };
            if inside {
                keep.insert(u);
                keep.extend(self.union.ancestors(u));
            }
        }
        if !keep.contains(&province) {
            return Err(TopologyError::UnknownProvince {
                file: self.today().source.clone(),
                unit: province,
            }
            .into());
        }
        Ok(self.restricted(&keep))
    }

    /// The units of today's listing, as one tree (ids in today's edition).
    pub fn today_topology(&self) -> Topology {
        let edition = self.today().edition;
        let keep: HashSet<UnitId> = self
            .union
            .units()
            .filter(|u| u.edition() == edition)
            .collect();
        self.union.restricted(&keep)
    }

    /// Just the units of today's listing in `today` (with their ancestors),
    /// and the older units whose place today is one of them: what a partial
    /// deployment (`sync178-node deploy --communes M`) runs.
    pub fn subset(&self, today: &HashSet<UnitId>) -> History {
        let mut keep: HashSet<UnitId> = HashSet::new();
        for u in self.union.units() {
            let inside = if u.edition() == self.today().edition {
                today.contains(&u)
            } else {
                self.place_today(u).is_some_and(|p| today.contains(&p))
            };
            if inside {
                keep.insert(u);
                keep.extend(self.union.ancestors(u));
            }
        }
        self.restricted(&keep)
    }

    /// This history with only the units in `keep` (closed under ancestors).
    fn restricted(&self, keep: &HashSet<UnitId>) -> History {
        let union = self.union.restricted(keep);
        let next = self
            .next
            .iter()
            .filter(|(u, _)| keep.contains(u))
            .map(|(u, n)| (*u, n.iter().copied().filter(|x| keep.contains(x)).collect()))
            .collect();
        let unmapped = self
            .unmapped
            .iter()
            .copied()
            .filter(|u| keep.contains(u))
            .collect();
        let predecessors = self
            .predecessors
            .iter()
            .filter(|(u, _)| keep.contains(u))
            .map(|(u, p)| (*u, p.clone()))
            .collect();
        let mut hasher = blake3::Hasher::new();
        hasher.update(&self.fingerprint);
        let mut kept: Vec<UnitId> = keep.iter().copied().collect();
        kept.sort_unstable();
        for u in kept {
            hasher.update(&u.to_bytes());
        }
        History {
            listings: self.listings.clone(),
            union,
            next,
            predecessors,
            unmapped,
            fingerprint: *hasher.finalize().as_bytes(),
        }
    }
}

/// Why [`History::read`] refused a unit id.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The text is not a unit id.
    #[error("{0}")]
    Parse(UnitError),
    /// The unit is not in the listing in force on the date.
    #[error("{}", self.text(Lang::En))]
    NotInForce {
        /// The id as written.
        unit: String,
        /// The event's date.
        day: Date,
        /// The edition of the listing in force that day.
        edition: Edition,
        /// First day that listing is in force.
        from: Option<Date>,
        /// Last day that listing is in force.
        until: Option<Date>,
        /// The same code in other listings.
        elsewhere: Vec<UnitId>,
    },
}

impl Localized for ReadError {
    fn text(&self, lang: Lang) -> String {
        match self {
            ReadError::Parse(e) => e.text(lang),
            ReadError::NotInForce {
                unit,
                day,
                edition,
                from,
                until,
                elsewhere,
            } => {
                let listing = listing_label(lang, *edition, *from, *until);
                let day = i18n::date(lang, *day);
                let mut s = match lang {
                    Lang::Vi => {
                        format!("{unit} không có trong {listing}, danh mục có hiệu lực ngày {day}")
                    }
                    Lang::En => format!("{unit} does not exist in the {listing} in force on {day}"),
                };
                if !elsewhere.is_empty() {
                    let list: Vec<String> = elsewhere.iter().map(ToString::to_string).collect();
                    let list = list.join(", ");
                    s.push_str(&match lang {
                        Lang::Vi => format!(" (cùng mã ở danh mục khác: {list})"),
                        Lang::En => format!(" (it exists as {list})"),
                    });
                }
                s
            }
        }
    }
}

/// Reads and checks a merge table's rows against the two listings.
fn read_merges(
    bytes: &[u8],
    name: &str,
    old: &Topology,
    new: &Topology,
) -> Result<Vec<MergeRow>, HistoryError> {
    let csv_error = |error| HistoryError::Csv {
        file: name.to_owned(),
        error,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::StringRecord::new();
    if !reader.read_record(&mut record).map_err(csv_error)? {
        return Err(HistoryError::MergeRow {
            file: name.to_owned(),
            row: 0,
            reason: "empty: expected a header line".to_owned(),
        });
    }
    let header: Vec<&str> = record
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim())
        .collect();
    if header != MERGE_HEADER {
        return Err(HistoryError::MergeRow {
            file: name.to_owned(),
            row: 0,
            reason: format!(
                "unknown header {:?}, expected {:?}",
                header.join(","),
                MERGE_HEADER.join(",")
            ),
        });
    }
    let old_edition = old.units().next().map_or(Edition::FIRST, UnitId::edition);
    let new_edition = new.units().next().map_or(Edition::FIRST, UnitId::edition);
    let mut rows = Vec::new();
    let mut row = 0u64;
    let mut seen: HashSet<(UnitId, UnitId)> = HashSet::new();
    while reader.read_record(&mut record).map_err(csv_error)? {
        row += 1;
        let bad = |reason: String| HistoryError::MergeRow {
            file: name.to_owned(),
            row,
            reason,
        };
        if record.len() != MERGE_HEADER.len() {
            return Err(bad(format!(
                "expected {} fields, found {}",
                MERGE_HEADER.len(),
                record.len()
            )));
        }
        let field = |i: usize| record.get(i).unwrap_or_default().trim();
        let unit = |i: usize, level: Level, edition: Edition| {
            let text = field(i);
            let code = (text.len() == level.code_width()
                && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u32>().ok())
            .flatten();
            code.and_then(|c| UnitId::in_edition(level, c, edition).ok())
                .ok_or_else(|| {
                    bad(format!(
                        "{} {text:?} must have exactly {} digits",
                        MERGE_HEADER[i],
                        level.code_width()
                    ))
                })
        };
        let old_commune = unit(2, Level::Commune, old_edition)?;
        let new_commune = unit(5, Level::Commune, new_edition)?;
        let old_province = unit(0, Level::Province, old_edition)?;
        let new_province = unit(4, Level::Province, new_edition)?;
        if !old.contains(old_commune) {
            return Err(bad(format!(
                "old_commune_code: {old_commune} is not in listing {old_edition}"
            )));
        }
        if !new.contains(new_commune) {
            return Err(bad(format!(
                "new_commune_code: {new_commune} is not in listing {new_edition}"
            )));
        }
        if !old.is_within(old_commune, old_province) {
            return Err(bad(format!(
                "old_province_code: {old_commune} is not in {old_province} in listing {old_edition}"
            )));
        }
        if !field(1).is_empty() {
            let d = unit(1, Level::District, old_edition)?;
            if !old.is_within(old_commune, d) {
                return Err(bad(format!(
                    "old_district_code: {old_commune} is not in {d} in listing {old_edition}"
                )));
            }
        }
        if !new.is_within(new_commune, new_province) {
            return Err(bad(format!(
                "new_province_code: {new_commune} is not in {new_province} in listing {new_edition}"
            )));
        }
        let whole = match field(7) {
            "whole" => true,
            "split" => false,
            other => return Err(bad(format!("kind {other:?} must be whole or split"))),
        };
        let default = match field(8) {
            "yes" => true,
            "no" | "" => false,
            other => return Err(bad(format!("default {other:?} must be yes or no"))),
        };
        if whole && !default {
            return Err(bad(format!(
                "default: a whole row ({old_commune} into {new_commune}) is its commune's default"
            )));
        }
        if !seen.insert((old_commune, new_commune)) {
            return Err(bad(format!(
                "{old_commune} into {new_commune} is listed twice"
            )));
        }
        rows.push(MergeRow {
            row,
            old: old_commune,
            new: new_commune,
            default,
            whole,
        });
    }
    Ok(rows)
}

/// Fills `next` for one table: communes from their rows, then provinces
/// and districts from their communes' default successors.
fn link(
    old: &Topology,
    new: &Topology,
    rows: &[MergeRow],
    name: &str,
    next: &mut HashMap<UnitId, Vec<UnitId>>,
    unmapped: &mut Vec<UnitId>,
) -> Result<(), HistoryError> {
    let mut by_old: BTreeMap<UnitId, Vec<&MergeRow>> = BTreeMap::new();
    for r in rows {
        by_old.entry(r.old).or_default().push(r);
    }
    for (&unit, rs) in &by_old {
        let first = rs[0].row;
        if rs.iter().any(|r| r.whole) && rs.len() > 1 {
            let other = rs.iter().find(|r| r.row != first).map_or(first, |r| r.row);
            return Err(HistoryError::MergeRow {
                file: name.to_owned(),
                row: other,
                reason: format!(
                    "{unit} went whole into one commune but has {} rows",
                    rs.len()
                ),
            });
        }
        let defaults = rs.iter().filter(|r| r.default).count();
        if defaults != 1 {
            return Err(HistoryError::SplitDefault {
                file: name.to_owned(),
                unit,
                row: first,
                defaults,
            });
        }
        let mut successors: Vec<UnitId> = rs.iter().filter(|r| r.default).map(|r| r.new).collect();
        successors.extend(rs.iter().filter(|r| !r.default).map(|r| r.new));
        next.insert(unit, successors);
    }
    for c in old.units().filter(|u| u.level() == Level::Commune) {
        if !by_old.contains_key(&c) {
            unmapped.push(c);
        }
    }
    // Provinces and districts: the unit of their level in the new listing
    // that holds the most of their communes' default successors (ties to the
    // lower id), then the others that hold any.
    for level in [Level::District, Level::Province] {
        for u in old.units().filter(|u| u.level() == level) {
            let mut counts: BTreeMap<UnitId, usize> = BTreeMap::new();
            for c in old.subtree(u) {
                let Some(&s) = next.get(&c).and_then(|n| n.first()) else {
                    continue;
                };
                if c.level() != Level::Commune {
                    continue;
                }
                if let Some(a) = std::iter::once(s)
                    .chain(new.ancestors(s))
                    .find(|a| a.level() == level)
                {
                    *counts.entry(a).or_default() += 1;
                }
            }
            let mut ranked: Vec<(UnitId, usize)> = counts.into_iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            if !ranked.is_empty() {
                next.insert(u, ranked.into_iter().map(|(a, _)| a).collect());
                continue;
            }
            if level == Level::District {
                // Its place is its province's (see `History::step`).
                continue;
            }
            // A province none of whose communes is mapped: the province of
            // the same code, else it would have no place and its records
            // could not be counted by today's structure.
            let same = new.roots().first().map(|r| u.with_edition(r.edition()));
            match same.filter(|p| new.contains(*p)) {
                Some(p) => {
                    next.insert(u, vec![p]);
                }
                None => {
                    return Err(HistoryError::NoPlace {
                        file: name.to_owned(),
                        unit: u,
                    });
                }
            }
        }
    }
    Ok(())
}

//! The administrative tree (province → district → commune) loaded from a GSO listing CSV.
//!
//! Two listing formats exist, told apart by their header:
//!
//! * three-tier (2024): `province_code,province_name,district_code,district_name,commune_code,commune_name`
//! * two-tier (2025, after districts were abolished):
//!   `province_code,province_name,commune_code,commune_name`; communes hang
//!   directly under their province.
//!
//! Each row is one commune; provinces and districts are the distinct values
//! of their columns. Codes must be zero-padded to their level's width.
//! Lookups go through a hash map from [`UnitId`] to a node holding its name,
//! parent and sorted children, so membership is O(1) and ancestry O(depth).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::unit::{Level, UnitId};

/// Header of the 2024 three-tier listing.
const THREE_TIER_HEADER: [&str; 6] = [
    "province_code",
    "province_name",
    "district_code",
    "district_name",
    "commune_code",
    "commune_name",
];

/// Header of the 2025 two-tier listing.
const TWO_TIER_HEADER: [&str; 4] = [
    "province_code",
    "province_name",
    "commune_code",
    "commune_name",
];

/// Which GSO listing format a topology was read from (and is written back
/// in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListingFormat {
    /// Province → district → commune (the 2024 listing).
    ThreeTier,
    /// Province → commune, no districts (the 2025 listing).
    TwoTier,
}

impl ListingFormat {
    /// The header line columns of the format.
    pub fn header(self) -> &'static [&'static str] {
        match self {
            ListingFormat::ThreeTier => &THREE_TIER_HEADER,
            ListingFormat::TwoTier => &TWO_TIER_HEADER,
        }
    }
}

/// One unit of the tree.
#[derive(Debug, Clone)]
struct Node {
    /// Vietnamese name as in the listing.
    name: Box<str>,
    /// The unit above, `None` for a province.
    parent: Option<UnitId>,
    /// The units directly below, sorted.
    children: Vec<UnitId>,
    /// Communes in the subtree, the unit itself included.
    communes: usize,
}

/// The administrative tree of one listing (or one province of it).
#[derive(Clone)]
pub struct Topology {
    /// Names the input, for errors.
    source: String,
    /// Format of the input, used again by [`Topology::write_csv`].
    format: ListingFormat,
    /// Every unit.
    nodes: HashMap<UnitId, Node>,
    /// Provinces, sorted.
    roots: Vec<UnitId>,
    /// Every unit, sorted.
    units: Vec<UnitId>,
    /// Communes in the order of the listing's rows.
    rows: Vec<UnitId>,
}

impl fmt::Debug for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |level| self.units.iter().filter(|u| u.level() == level).count();
        f.debug_struct("Topology")
            .field("source", &self.source)
            .field("format", &self.format)
            .field("provinces", &count(Level::Province))
            .field("districts", &count(Level::District))
            .field("communes", &count(Level::Commune))
            .finish()
    }
}

/// Why a topology could not be loaded or cut.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    /// The file could not be opened or read.
    #[error("cannot read topology file {}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        error: std::io::Error,
    },
    /// The input is not readable CSV (bad UTF-8, broken quoting, read error).
    #[error("{file}{}: {error}", line_suffix(*line))]
    Csv {
        /// Names the input.
        file: String,
        /// Line of the failing record, when known.
        line: Option<u64>,
        /// What went wrong.
        error: csv::Error,
    },
    /// The input has no header line.
    #[error("{file} is empty: expected a header line")]
    Empty {
        /// Names the input.
        file: String,
    },
    /// The header is neither listing format.
    #[error(
        "{file} line 1: unknown header {found:?}, expected {:?} (three-tier, 2024) or {:?} (two-tier, 2025)",
        THREE_TIER_HEADER.join(","),
        TWO_TIER_HEADER.join(",")
    )]
    UnknownHeader {
        /// Names the input.
        file: String,
        /// The header as found, fields joined by commas.
        found: String,
    },
    /// A row has the wrong number of fields.
    #[error("{file} line {line}: expected {expected} fields, found {found}")]
    FieldCount {
        /// Names the input.
        file: String,
        /// Line of the row.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// A code field has something other than ASCII digits.
    #[error("{file} line {line}: {field} {value:?} is not a number")]
    NotANumber {
        /// Names the input.
        file: String,
        /// Line of the row.
        line: u64,
        /// Column name, e.g. `commune_code`.
        field: &'static str,
        /// The field as found.
        value: String,
    },
    /// A code field has the wrong number of digits.
    #[error("{file} line {line}: {field} {value:?} must have exactly {width} digits")]
    CodeWidth {
        /// Names the input.
        file: String,
        /// Line of the row.
        line: u64,
        /// Column name, e.g. `district_code`.
        field: &'static str,
        /// The field as found.
        value: String,
        /// Digits required.
        width: usize,
    },
    /// A name field is empty.
    #[error("{file} line {line}: {field} is empty")]
    EmptyName {
        /// Names the input.
        file: String,
        /// Line of the row.
        line: u64,
        /// Column name, e.g. `province_name`.
        field: &'static str,
    },
    /// A name field holds a control character (a line break or tab, often
    /// from broken quoting).
    #[error("{file} line {line}: {field} {value:?} contains a control character")]
    BadName {
        /// Names the input.
        file: String,
        /// Line of the row.
        line: u64,
        /// Column name, e.g. `commune_name`.
        field: &'static str,
        /// The field as found.
        value: String,
    },
    /// A province or district appears with two different names.
    #[error(
        "{file} line {line}: {field} {name:?} for {unit} differs from {first_name:?} on line {first_line}"
    )]
    ConflictingName {
        /// Names the input.
        file: String,
        /// Line of the row.
        line: u64,
        /// Column name, e.g. `district_name`.
        field: &'static str,
        /// The unit named.
        unit: UnitId,
        /// The name on this line.
        name: String,
        /// The name first seen.
        first_name: String,
        /// Where it was first seen.
        first_line: u64,
    },
    /// A district or commune code appears under two different parents.
    #[error(
        "{file} line {line}: duplicate {field} {:?} under {parent}, already under {first_parent} on line {first_line}",
        unit.code_str()
    )]
    ConflictingParent {
        /// Names the input.
        file: String,
        /// Line of the row.
        line: u64,
        /// Column name, e.g. `commune_code`.
        field: &'static str,
        /// The unit.
        unit: UnitId,
        /// Its parent on this line.
        parent: UnitId,
        /// Its parent first seen.
        first_parent: UnitId,
        /// Where it was first seen.
        first_line: u64,
    },
    /// A commune code appears on two rows under the same parent.
    #[error(
        "{file} line {line}: duplicate commune_code {:?}, already on line {first_line}",
        unit.code_str()
    )]
    DuplicateCommune {
        /// Names the input.
        file: String,
        /// Line of the row.
        line: u64,
        /// The commune.
        unit: UnitId,
        /// Where it was first seen.
        first_line: u64,
    },
    /// [`Topology::province`] was given a unit that is not a province.
    #[error("unit {unit} is not a province")]
    NotAProvince {
        /// The unit asked for.
        unit: UnitId,
    },
    /// [`Topology::province`] was given a province the topology lacks.
    #[error("province {unit} is not in {file}")]
    UnknownProvince {
        /// Names the topology's input.
        file: String,
        /// The province asked for.
        unit: UnitId,
    },
}

/// ` line N` when the line is known.
fn line_suffix(line: Option<u64>) -> String {
    line.map(|l| format!(" line {l}")).unwrap_or_default()
}

/// Collects units while reading rows, remembering where each was first seen.
struct Builder<'a> {
    /// Names the input.
    file: &'a str,
    /// Units so far, with the line that introduced each.
    nodes: HashMap<UnitId, (Node, u64)>,
    /// Communes in row order.
    rows: Vec<UnitId>,
}

impl<'a> Builder<'a> {
    fn new(file: &'a str) -> Builder<'a> {
        Builder {
            file,
            nodes: HashMap::new(),
            rows: Vec::new(),
        }
    }

    /// Parses a zero-padded code column into a unit id.
    fn code(
        &self,
        line: u64,
        field: &'static str,
        value: &str,
        level: Level,
    ) -> Result<UnitId, TopologyError> {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TopologyError::NotANumber {
                file: self.file.to_owned(),
                line,
                field,
                value: value.to_owned(),
            });
        }
        let width = level.code_width();
        if value.len() != width {
            return Err(TopologyError::CodeWidth {
                file: self.file.to_owned(),
                line,
                field,
                value: value.to_owned(),
                width,
            });
        }
        let code = value
            .bytes()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
        UnitId::new(level, code).map_err(|_| TopologyError::CodeWidth {
            file: self.file.to_owned(),
            line,
            field,
            value: value.to_owned(),
            width,
        })
    }

    /// Checks a name column is not blank and has no control characters.
    fn name<'r>(
        &self,
        line: u64,
        field: &'static str,
        value: &'r str,
    ) -> Result<&'r str, TopologyError> {
        if value.trim().is_empty() {
            return Err(TopologyError::EmptyName {
                file: self.file.to_owned(),
                line,
                field,
            });
        }
        if value.chars().any(char::is_control) {
            return Err(TopologyError::BadName {
                file: self.file.to_owned(),
                line,
                field,
                value: value.to_owned(),
            });
        }
        Ok(value)
    }

    /// Adds a province or district, or checks it matches what was seen.
    fn add_group(
        &mut self,
        line: u64,
        fields: (&'static str, &'static str),
        unit: UnitId,
        name: &str,
        parent: Option<UnitId>,
    ) -> Result<(), TopologyError> {
        match self.nodes.entry(unit) {
            Entry::Vacant(v) => {
                v.insert((
                    Node {
                        name: name.into(),
                        parent,
                        children: Vec::new(),
                        communes: 0,
                    },
                    line,
                ));
                Ok(())
            }
            Entry::Occupied(o) => {
                let (node, first_line) = o.get();
                if let (Some(parent), Some(first_parent)) = (parent, node.parent)
                    && parent != first_parent
                {
                    return Err(TopologyError::ConflictingParent {
                        file: self.file.to_owned(),
                        line,
                        field: fields.0,
                        unit,
                        parent,
                        first_parent,
                        first_line: *first_line,
                    });
                }
                if &*node.name != name {
                    return Err(TopologyError::ConflictingName {
                        file: self.file.to_owned(),
                        line,
                        field: fields.1,
                        unit,
                        name: name.to_owned(),
                        first_name: node.name.to_string(),
                        first_line: *first_line,
                    });
                }
                Ok(())
            }
        }
    }

    /// Adds a commune; any repeat of its code is an error.
    fn add_commune(
        &mut self,
        line: u64,
        unit: UnitId,
        name: &str,
        parent: UnitId,
    ) -> Result<(), TopologyError> {
        match self.nodes.entry(unit) {
            Entry::Vacant(v) => {
                v.insert((
                    Node {
                        name: name.into(),
                        parent: Some(parent),
                        children: Vec::new(),
                        communes: 0,
                    },
                    line,
                ));
                self.rows.push(unit);
                Ok(())
            }
            Entry::Occupied(o) => {
                let (node, first_line) = o.get();
                match node.parent {
                    Some(first_parent) if first_parent != parent => {
                        Err(TopologyError::ConflictingParent {
                            file: self.file.to_owned(),
                            line,
                            field: "commune_code",
                            unit,
                            parent,
                            first_parent,
                            first_line: *first_line,
                        })
                    }
                    _ => Err(TopologyError::DuplicateCommune {
                        file: self.file.to_owned(),
                        line,
                        unit,
                        first_line: *first_line,
                    }),
                }
            }
        }
    }

    /// Reads one data row.
    fn add_row(
        &mut self,
        format: ListingFormat,
        line: u64,
        record: &csv::StringRecord,
    ) -> Result<(), TopologyError> {
        let expected = format.header().len();
        if record.len() != expected {
            return Err(TopologyError::FieldCount {
                file: self.file.to_owned(),
                line,
                expected,
                found: record.len(),
            });
        }
        let field = |i: usize| record.get(i).unwrap_or_default();
        let province = self.code(line, "province_code", field(0), Level::Province)?;
        let province_name = self.name(line, "province_name", field(1))?;
        let (parent, district) = match format {
            ListingFormat::ThreeTier => {
                let district = self.code(line, "district_code", field(2), Level::District)?;
                let district_name = self.name(line, "district_name", field(3))?;
                (district, Some((district, district_name)))
            }
            ListingFormat::TwoTier => (province, None),
        };
        let first_commune_col = expected - 2;
        let commune = self.code(
            line,
            "commune_code",
            field(first_commune_col),
            Level::Commune,
        )?;
        let commune_name = self.name(line, "commune_name", field(first_commune_col + 1))?;

        self.add_group(
            line,
            ("province_code", "province_name"),
            province,
            province_name,
            None,
        )?;
        if let Some((district, district_name)) = district {
            self.add_group(
                line,
                ("district_code", "district_name"),
                district,
                district_name,
                Some(province),
            )?;
        }
        self.add_commune(line, commune, commune_name, parent)
    }

    /// Links children and counts communes.
    fn finish(self, source: &str, format: ListingFormat) -> Topology {
        let mut nodes: HashMap<UnitId, Node> = self
            .nodes
            .into_iter()
            .map(|(unit, (node, _))| (unit, node))
            .collect();
        let mut units: Vec<UnitId> = nodes.keys().copied().collect();
        units.sort_unstable();
        let mut roots = Vec::new();
        // `units` is sorted, so pushing in its order leaves children sorted.
        for &unit in &units {
            match nodes.get(&unit).and_then(|n| n.parent) {
                Some(parent) => {
                    if let Some(p) = nodes.get_mut(&parent) {
                        p.children.push(unit);
                    }
                }
                None => roots.push(unit),
            }
        }
        count_communes(&mut nodes, &self.rows);
        Topology {
            source: source.to_owned(),
            format,
            nodes,
            roots,
            units,
            rows: self.rows,
        }
    }
}

/// Adds each commune of `rows` to its own count and its ancestors'.
fn count_communes(nodes: &mut HashMap<UnitId, Node>, rows: &[UnitId]) {
    for &commune in rows {
        let mut at = Some(commune);
        while let Some(unit) = at {
            at = nodes.get_mut(&unit).and_then(|n| {
                n.communes += 1;
                n.parent
            });
        }
    }
}

impl Topology {
    /// Reads a listing file; errors name the path as given.
    pub fn from_csv_path(path: &Path) -> Result<Topology, TopologyError> {
        let file = std::fs::File::open(path).map_err(|error| TopologyError::Io {
            path: path.to_owned(),
            error,
        })?;
        Topology::from_csv_reader(std::io::BufReader::new(file), &path.display().to_string())
    }

    /// Reads a listing from `r`; `source` names the input in errors.
    ///
    /// The format is chosen by the header (a UTF-8 byte-order mark and spaces
    /// around header names are tolerated). Every row must have all fields,
    /// zero-padded numeric codes and non-blank names; a province or district
    /// must keep one name and one parent throughout, and each commune code
    /// must appear once.
    pub fn from_csv_reader<R: std::io::Read>(
        r: R,
        source: &str,
    ) -> Result<Topology, TopologyError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(r);
        let csv_error = |error: csv::Error| TopologyError::Csv {
            file: source.to_owned(),
            line: error.position().map(csv::Position::line),
            error,
        };
        let mut record = csv::StringRecord::new();
        if !reader.read_record(&mut record).map_err(csv_error)? {
            return Err(TopologyError::Empty {
                file: source.to_owned(),
            });
        }
        let header: Vec<&str> = record
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim())
            .collect();
        let format = if header == THREE_TIER_HEADER {
            ListingFormat::ThreeTier
        } else if header == TWO_TIER_HEADER {
            ListingFormat::TwoTier
        } else {
            return Err(TopologyError::UnknownHeader {
                file: source.to_owned(),
                found: record.iter().collect::<Vec<_>>().join(","),
            });
        };
        let mut builder = Builder::new(source);
        while reader.read_record(&mut record).map_err(csv_error)? {
            let line = record.position().map_or(0, csv::Position::line);
            builder.add_row(format, line, &record)?;
        }
        Ok(builder.finish(source, format))
    }

    /// Just the subtree of `province`, as a topology of its own (same
    /// format, rows in the original order).
    pub fn province(&self, province: UnitId) -> Result<Topology, TopologyError> {
        if province.level() != Level::Province {
            return Err(TopologyError::NotAProvince { unit: province });
        }
        if !self.contains(province) {
            return Err(TopologyError::UnknownProvince {
                file: self.source.clone(),
                unit: province,
            });
        }
        let units = self.subtree(province);
        let nodes = units
            .iter()
            .filter_map(|u| self.nodes.get(u).map(|n| (*u, n.clone())))
            .collect();
        let rows = self
            .rows
            .iter()
            .copied()
            .filter(|&c| self.is_within(c, province))
            .collect();
        Ok(Topology {
            source: format!("{} ({province})", self.source),
            format: self.format,
            nodes,
            roots: vec![province],
            units,
            rows,
        })
    }

    /// The same tree with every id moved into `edition`'s listing
    /// (`c00004` → `c00004@2025`): how a listing file, whose codes carry no
    /// edition, becomes one listing of a [`crate::history::History`].
    pub fn in_edition(self, edition: crate::unit::Edition) -> Topology {
        let e = |u: UnitId| u.with_edition(edition);
        let nodes = self
            .nodes
            .into_iter()
            .map(|(unit, node)| {
                let node = Node {
                    parent: node.parent.map(e),
                    children: node.children.into_iter().map(e).collect(),
                    ..node
                };
                (e(unit), node)
            })
            .collect();
        Topology {
            source: self.source,
            format: self.format,
            nodes,
            roots: self.roots.into_iter().map(e).collect(),
            units: self.units.into_iter().map(e).collect(),
            rows: self.rows.into_iter().map(e).collect(),
        }
    }

    /// One tree holding the units of several listings side by side (their
    /// ids must differ, as ids of different editions do); each listing's
    /// units keep their own parents. `format` is the last part's.
    pub(crate) fn union(parts: Vec<Topology>, source: String) -> Topology {
        let mut out = Topology {
            source,
            format: ListingFormat::TwoTier,
            nodes: HashMap::new(),
            roots: Vec::new(),
            units: Vec::new(),
            rows: Vec::new(),
        };
        for part in parts {
            out.format = part.format;
            out.nodes.extend(part.nodes);
            out.roots.extend(part.roots);
            out.units.extend(part.units);
            out.rows.extend(part.rows);
        }
        out.roots.sort_unstable();
        out.units.sort_unstable();
        out
    }

    /// Names the input the tree was read from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Only the units in `keep` (which must hold every kept unit's
    /// ancestors), with children and commune counts recomputed.
    pub(crate) fn restricted(&self, keep: &std::collections::HashSet<UnitId>) -> Topology {
        let mut nodes: HashMap<UnitId, Node> = self
            .nodes
            .iter()
            .filter(|(u, _)| keep.contains(u))
            .map(|(u, n)| {
                let node = Node {
                    name: n.name.clone(),
                    parent: n.parent,
                    children: n
                        .children
                        .iter()
                        .copied()
                        .filter(|c| keep.contains(c))
                        .collect(),
                    communes: 0,
                };
                (*u, node)
            })
            .collect();
        let rows: Vec<UnitId> = self
            .rows
            .iter()
            .copied()
            .filter(|c| keep.contains(c))
            .collect();
        count_communes(&mut nodes, &rows);
        Topology {
            source: self.source.clone(),
            format: self.format,
            nodes,
            roots: self
                .roots
                .iter()
                .copied()
                .filter(|r| keep.contains(r))
                .collect(),
            units: self
                .units
                .iter()
                .copied()
                .filter(|u| keep.contains(u))
                .collect(),
            rows,
        }
    }

    /// The format the listing was read in.
    pub fn format(&self) -> ListingFormat {
        self.format
    }

    /// The provinces, sorted.
    pub fn roots(&self) -> &[UnitId] {
        &self.roots
    }

    /// Whether `unit` is in the topology.
    pub fn contains(&self, unit: UnitId) -> bool {
        self.nodes.contains_key(&unit)
    }

    /// The Vietnamese name of `unit`, exactly as in the listing.
    pub fn name(&self, unit: UnitId) -> Option<&str> {
        self.nodes.get(&unit).map(|n| &*n.name)
    }

    /// The unit directly above `unit`; `None` for a province or an unknown
    /// unit.
    pub fn parent(&self, unit: UnitId) -> Option<UnitId> {
        self.nodes.get(&unit).and_then(|n| n.parent)
    }

    /// The units directly below `unit`, sorted; empty for a commune or an
    /// unknown unit.
    pub fn children(&self, unit: UnitId) -> &[UnitId] {
        self.nodes.get(&unit).map_or(&[], |n| &n.children)
    }

    /// Parent, grandparent, … up to the province; `unit` itself excluded.
    pub fn ancestors(&self, unit: UnitId) -> impl Iterator<Item = UnitId> + '_ {
        std::iter::successors(self.parent(unit), move |&u| self.parent(u))
    }

    /// Whether `unit` is `ancestor` or lies below it; false if `unit` is not
    /// in the topology. O(depth).
    pub fn is_within(&self, unit: UnitId, ancestor: UnitId) -> bool {
        if !self.contains(unit) || ancestor.level() < unit.level() {
            return false;
        }
        unit == ancestor || self.ancestors(unit).any(|a| a == ancestor)
    }

    /// Number of communes in the subtree of `unit` (1 for a commune, 0 for an
    /// unknown unit). O(1).
    pub fn communes_under(&self, unit: UnitId) -> usize {
        self.nodes.get(&unit).map_or(0, |n| n.communes)
    }

    /// Every unit, sorted (communes, then districts, then provinces, as
    /// [`UnitId`] orders).
    pub fn units(&self) -> impl Iterator<Item = UnitId> + '_ {
        self.units.iter().copied()
    }

    /// Number of units of all levels.
    pub fn len(&self) -> usize {
        self.units.len()
    }

    /// Whether there are no units (a listing with a header and no rows).
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// `unit` and every unit below it, sorted; empty for an unknown unit.
    pub fn subtree(&self, unit: UnitId) -> Vec<UnitId> {
        if !self.contains(unit) {
            return Vec::new();
        }
        let mut out = vec![unit];
        let mut next = 0;
        while let Some(&u) = out.get(next) {
            out.extend_from_slice(self.children(u));
            next += 1;
        }
        out.sort_unstable();
        out
    }

    /// Writes the topology in the listing format it was read from: the
    /// header, then one row per commune in the original row order, codes
    /// zero-padded, CRLF line ends as in the GSO listings.
    pub fn write_csv<W: std::io::Write>(&self, w: W) -> std::io::Result<()> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(w);
        writer.write_record(self.format.header())?;
        let name = |u: Option<UnitId>| u.and_then(|u| self.name(u)).unwrap_or_default();
        let code = |u: Option<UnitId>| u.map(UnitId::code_str).unwrap_or_default();
        for &commune in &self.rows {
            let parent = self.parent(commune);
            let commune = Some(commune);
            match self.format {
                ListingFormat::ThreeTier => {
                    let province = parent.and_then(|d| self.parent(d));
                    writer.write_record([
                        code(province).as_str(),
                        name(province),
                        code(parent).as_str(),
                        name(parent),
                        code(commune).as_str(),
                        name(commune),
                    ])?;
                }
                ListingFormat::TwoTier => {
                    writer.write_record([
                        code(parent).as_str(),
                        name(parent),
                        code(commune).as_str(),
                        name(commune),
                    ])?;
                }
            }
        }
        writer.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> UnitId {
        s.parse().expect("valid unit id")
    }

    const SMALL_2024: &str = "\
province_code,province_name,district_code,district_name,commune_code,commune_name
01,Thành phố Hà Nội,001,Quận Ba Đình,00004,Phường Trúc Bạch
01,Thành phố Hà Nội,001,Quận Ba Đình,00001,Phường Phúc Xá
01,Thành phố Hà Nội,008,Quận Hoàng Mai,00301,Phường Thanh Trì
33,Tỉnh Hưng Yên,329,Huyện Ân Thi,12142,Thị trấn Ân Thi
";

    const SMALL_2025: &str = "\
province_code,province_name,commune_code,commune_name
01,Thành phố Hà Nội,00070,Phường Hoàn Kiếm
01,Thành phố Hà Nội,00004,Phường Ba Đình
33,Hưng Yên,12745,Xã  Bắc Đông Quan
";

    fn load(text: &str) -> Result<Topology, TopologyError> {
        Topology::from_csv_reader(text.as_bytes(), "topology.csv")
    }

    fn strings(units: impl IntoIterator<Item = UnitId>) -> Vec<String> {
        units.into_iter().map(|u| u.to_string()).collect()
    }

    #[test]
    fn three_tier_tree() {
        let t = load(SMALL_2024).expect("loads");
        assert_eq!(t.format(), ListingFormat::ThreeTier);
        assert_eq!(strings(t.roots().iter().copied()), ["p01", "p33"]);
        assert_eq!(t.len(), 9);
        assert!(!t.is_empty());
        assert_eq!(
            strings(t.units()),
            [
                "c00001", "c00004", "c00301", "c12142", "d001", "d008", "d329", "p01", "p33"
            ]
        );
        assert_eq!(t.name(id("d008")), Some("Quận Hoàng Mai"));
        assert_eq!(t.name(id("p99")), None);
        assert_eq!(t.parent(id("c00301")), Some(id("d008")));
        assert_eq!(t.parent(id("p01")), None);
        assert_eq!(
            strings(t.children(id("d001")).iter().copied()),
            ["c00001", "c00004"]
        );
        assert_eq!(
            strings(t.children(id("p01")).iter().copied()),
            ["d001", "d008"]
        );
        assert!(t.children(id("c00001")).is_empty());
        assert!(t.children(id("d999")).is_empty());
        assert_eq!(strings(t.ancestors(id("c00301"))), ["d008", "p01"]);
        assert_eq!(t.ancestors(id("p01")).count(), 0);
        assert_eq!(t.ancestors(id("c99999")).count(), 0);
        let counts = [
            ("p01", 3),
            ("p33", 1),
            ("d001", 2),
            ("d008", 1),
            ("c00001", 1),
            ("p99", 0),
        ];
        for (u, n) in counts {
            assert_eq!(t.communes_under(id(u)), n, "{u}");
        }
        assert_eq!(
            strings(t.subtree(id("p01"))),
            ["c00001", "c00004", "c00301", "d001", "d008", "p01"]
        );
        assert_eq!(strings(t.subtree(id("c00301"))), ["c00301"]);
        assert!(t.subtree(id("p99")).is_empty());
    }

    #[test]
    fn is_within_table() {
        let t = load(SMALL_2024).expect("loads");
        let table = [
            ("c00301", "c00301", true),
            ("c00301", "d008", true),
            ("c00301", "p01", true),
            ("d008", "p01", true),
            ("p01", "p01", true),
            ("c00301", "d001", false),
            ("c00301", "p33", false),
            ("d008", "c00301", false),
            ("p01", "d008", false),
            ("c99999", "c99999", false),
            ("c99999", "p01", false),
            ("c00001", "p99", false),
        ];
        for (unit, ancestor, want) in table {
            assert_eq!(
                t.is_within(id(unit), id(ancestor)),
                want,
                "{unit} within {ancestor}"
            );
        }
    }

    #[test]
    fn two_tier_tree() {
        let t = load(SMALL_2025).expect("loads");
        assert_eq!(t.format(), ListingFormat::TwoTier);
        assert_eq!(t.len(), 5);
        assert_eq!(t.parent(id("c00070")), Some(id("p01")));
        assert_eq!(
            strings(t.children(id("p01")).iter().copied()),
            ["c00004", "c00070"]
        );
        assert_eq!(t.communes_under(id("p01")), 2);
        assert!(t.is_within(id("c12745"), id("p33")));
        assert_eq!(t.name(id("c12745")), Some("Xã  Bắc Đông Quan"));
        assert!(t.units().all(|u| u.level() != Level::District));
    }

    #[test]
    fn province_extraction() {
        let t = load(SMALL_2024).expect("loads");
        let hn = t.province(id("p01")).expect("known province");
        assert_eq!(strings(hn.roots().iter().copied()), ["p01"]);
        assert_eq!(hn.len(), 6);
        assert!(!hn.contains(id("c12142")));
        assert_eq!(hn.communes_under(id("p01")), 3);
        assert_eq!(hn.parent(id("c00301")), Some(id("d008")));
        let err = |u: &str| {
            t.province(id(u))
                .expect_err("not a province of t")
                .to_string()
        };
        assert_eq!(err("p99"), "province p99 is not in topology.csv");
        assert_eq!(err("d008"), "unit d008 is not a province");
    }

    #[test]
    fn write_csv_round_trips() {
        for text in [SMALL_2024, SMALL_2025] {
            let t = load(text).expect("loads");
            let mut out = Vec::new();
            t.write_csv(&mut out).expect("writes");
            let written = String::from_utf8(out).expect("utf-8");
            assert_eq!(written, text.replace('\n', "\r\n"));
        }
        let hy = load(SMALL_2024)
            .expect("loads")
            .province(id("p33"))
            .expect("p33");
        let mut out = Vec::new();
        hy.write_csv(&mut out).expect("writes");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "province_code,province_name,district_code,district_name,commune_code,commune_name\r\n\
             33,Tỉnh Hưng Yên,329,Huyện Ân Thi,12142,Thị trấn Ân Thi\r\n"
        );
    }

    #[test]
    fn header_variants() {
        let bom = format!("\u{feff}{SMALL_2025}");
        assert_eq!(load(&bom).expect("bom tolerated").len(), 5);
        let spaced = SMALL_2025.replacen(
            "province_code,province_name",
            "province_code , province_name",
            1,
        );
        assert_eq!(load(&spaced).expect("spaces tolerated").len(), 5);
        let header_only = "province_code,province_name,commune_code,commune_name\n";
        let empty = load(header_only).expect("header only is an empty topology");
        assert!(empty.is_empty());
        assert!(empty.roots().is_empty());
    }

    /// A three-tier listing whose second data row (line 3) is `row`.
    fn with_row(row: &str) -> String {
        format!(
            "{}{row}\n",
            &SMALL_2024[..SMALL_2024
                .find("01,Thành phố Hà Nội,001,Quận Ba Đình,00001")
                .expect("row")]
        )
    }

    #[test]
    fn error_table() {
        let header_msg = r#"line 1: unknown header "{}", expected "province_code,province_name,district_code,district_name,commune_code,commune_name" (three-tier, 2024) or "province_code,province_name,commune_code,commune_name" (two-tier, 2025)"#;
        let cases: Vec<(String, String)> = vec![
            (String::new(), "topology.csv is empty: expected a header line".into()),
            (
                "code,name\n01,x\n".into(),
                format!("topology.csv {}", header_msg.replace("{}", "code,name")),
            ),
            (
                "Province_Code,province_name,commune_code,commune_name\n".into(),
                format!(
                    "topology.csv {}",
                    header_msg.replace("{}", "Province_Code,province_name,commune_code,commune_name")
                ),
            ),
            (
                with_row("01,Thành phố Hà Nội,001,Quận Ba Đình,00001"),
                "topology.csv line 3: expected 6 fields, found 5".into(),
            ),
            (
                with_row("01,Thành phố Hà Nội,001,Quận Ba Đình,00001,Phường Phúc Xá,x"),
                "topology.csv line 3: expected 6 fields, found 7".into(),
            ),
            (
                with_row("01,Thành phố Hà Nội,001,Quận Ba Đình,12a,Phường Phúc Xá"),
                r#"topology.csv line 3: commune_code "12a" is not a number"#.into(),
            ),
            (
                with_row("01,Thành phố Hà Nội,001,Quận Ba Đình,,Phường Phúc Xá"),
                r#"topology.csv line 3: commune_code "" is not a number"#.into(),
            ),
            (
                with_row("1,Thành phố Hà Nội,001,Quận Ba Đình,00001,Phường Phúc Xá"),
                r#"topology.csv line 3: province_code "1" must have exactly 2 digits"#.into(),
            ),
            (
                with_row("01,Thành phố Hà Nội,0001,Quận Ba Đình,00001,Phường Phúc Xá"),
                r#"topology.csv line 3: district_code "0001" must have exactly 3 digits"#.into(),
            ),
            (
                with_row("01,Thành phố Hà Nội,001,Quận Ba Đình, 00001,Phường Phúc Xá"),
                r#"topology.csv line 3: commune_code " 00001" is not a number"#.into(),
            ),
            (
                with_row("01,Thành phố Hà Nội,001,Quận Ba Đình,-0001,Phường Phúc Xá"),
                r#"topology.csv line 3: commune_code "-0001" is not a number"#.into(),
            ),
            (
                with_row("01,Thành phố Hà Nội,001,,00001,Phường Phúc Xá"),
                "topology.csv line 3: district_name is empty".into(),
            ),
            (
                with_row("01,  ,001,Quận Ba Đình,00001,Phường Phúc Xá"),
                "topology.csv line 3: province_name is empty".into(),
            ),
            (
                with_row("01,Hà Nội,001,Quận Ba Đình,00001,Phường Phúc Xá"),
                r#"topology.csv line 3: province_name "Hà Nội" for p01 differs from "Thành phố Hà Nội" on line 2"#.into(),
            ),
            (
                with_row("01,Thành phố Hà Nội,001,Ba Đình,00001,Phường Phúc Xá"),
                r#"topology.csv line 3: district_name "Ba Đình" for d001 differs from "Quận Ba Đình" on line 2"#.into(),
            ),
            (
                with_row("02,Tỉnh Hà Giang,001,Quận Ba Đình,00001,Phường Phúc Xá"),
                r#"topology.csv line 3: duplicate district_code "001" under p02, already under p01 on line 2"#.into(),
            ),
            (
                with_row("01,Thành phố Hà Nội,002,Quận Hoàn Kiếm,00004,Phường Trúc Bạch"),
                r#"topology.csv line 3: duplicate commune_code "00004" under d002, already under d001 on line 2"#.into(),
            ),
            (
                with_row("01,Thành phố Hà Nội,001,Quận Ba Đình,00004,Phường Trúc Bạch"),
                r#"topology.csv line 3: duplicate commune_code "00004", already on line 2"#.into(),
            ),
            (
                with_row("01,Thành phố Hà Nội,001,Quận Ba Đình,00001,\"Phường Phúc Xá"),
                "topology.csv line 3: commune_name \"Phường Phúc Xá\\n\" contains a control character".into(),
            ),
            (
                with_row("01,Thành phố Hà Nội,001,\"Quận\tBa Đình\",00001,Phường Phúc Xá"),
                "topology.csv line 3: district_name \"Quận\\tBa Đình\" contains a control character".into(),
            ),
        ];
        for (text, want) in &cases {
            let err = load(text).expect_err(want);
            assert_eq!(&err.to_string(), want, "{text:?}");
        }
    }

    #[test]
    fn invalid_utf8_and_io_errors_name_the_input() {
        let mut bytes = SMALL_2025.as_bytes().to_vec();
        bytes.extend_from_slice(b"01,Th\xffnh ph\xe1,00001,x\n");
        let err = Topology::from_csv_reader(&bytes[..], "topology.csv").expect_err("bad utf-8");
        assert!(
            matches!(err, TopologyError::Csv { line: Some(5), .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with("topology.csv line 5: "),
            "{err}"
        );

        let missing = Path::new("/nonexistent/topology.csv");
        let err = Topology::from_csv_path(missing).expect_err("missing file");
        assert!(
            err.to_string()
                .starts_with("cannot read topology file /nonexistent/topology.csv: "),
            "{err}"
        );
    }

    #[test]
    fn debug_is_a_summary() {
        let t = load(SMALL_2024).expect("loads");
        assert_eq!(
            format!("{t:?}"),
            r#"Topology { source: "topology.csv", format: ThreeTier, provinces: 2, districts: 3, communes: 4 }"#
        );
    }
}

//! What `deploy` prints for people: the nodes table and the next steps, in
//! Vietnamese or English.

use std::fmt::Write as _;

use crate::i18n::{self, Lang, Msg, t};

use super::*;

/// Left-aligned columns separated by two spaces, widths in characters.
fn table(rows: &[Vec<String>]) -> String {
    let mut widths = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let w = cell.chars().count();
            match widths.get_mut(i) {
                Some(x) if *x < w => *x = w,
                Some(_) => {}
                None => widths.push(w),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::from(" ");
        for (i, cell) in row.iter().enumerate() {
            let pad = widths.get(i).copied().unwrap_or(0) - cell.chars().count();
            let _ = write!(line, " {cell}{}", " ".repeat(pad));
            if i + 1 < row.len() {
                line.push(' ');
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// The summary people read after `deploy`, in `lang`.
pub fn render(report: &DeployReport, lang: Lang) -> String {
    let mut out = String::new();
    let count = |level| {
        report
            .nodes
            .iter()
            .filter(|(n, _)| n.unit.level() == level)
            .count()
    };
    let province = if report.province_name.is_empty() {
        report.province.to_string()
    } else {
        format!("{} — {}", report.province, report.province_name)
    };
    let _ = writeln!(
        out,
        "{}",
        i18n::deploy_heading(
            lang,
            &province,
            &report.out.display().to_string(),
            (
                count(Level::Province),
                count(Level::District),
                count(Level::Commune)
            ),
        )
    );
    let _ = writeln!(
        out,
        "{}: {}",
        t(lang, Msg::DeployTopology),
        report.topology.display()
    );
    let _ = writeln!(
        out,
        "{}: {} ({})",
        t(lang, Msg::DeployCerts),
        report.certs_dir.display(),
        i18n::deploy_certs(
            lang,
            report.certs.ca_created,
            report.certs.created.len(),
            report.certs.kept.len()
        ),
    );
    let _ = writeln!(out, "  {}", t(lang, Msg::DeployCaKeyStays));
    let _ = writeln!(out, "{}:", t(lang, Msg::DeployNodes));
    let mut rows = vec![vec![
        t(lang, Msg::ColUnit).to_owned(),
        t(lang, Msg::DeployColListen).to_owned(),
        t(lang, Msg::Parent).to_owned(),
        t(lang, Msg::DeployColConfig).to_owned(),
    ]];
    for (node, config) in &report.nodes {
        rows.push(vec![
            node.unit.to_string(),
            node.listen.to_string(),
            node.parent.map_or_else(
                || "—".to_owned(),
                |(p, addr)| format!("{p} {}", endpoint(addr)),
            ),
            config.display().to_string(),
        ]);
    }
    out.push_str(&table(&rows));
    let _ = writeln!(out, "  {}", t(lang, Msg::DeployBundle));
    let _ = writeln!(
        out,
        "{}: {}",
        t(lang, Msg::DeployNodeList),
        report.nodes_file.display()
    );
    if !report.stale.is_empty() {
        let units: Vec<String> = report.stale.iter().map(UnitId::to_string).collect();
        let _ = writeln!(out, "{}: {}", t(lang, Msg::DeployStale), units.join(", "));
    }
    if let Some((root, _)) = report.nodes.first() {
        let _ = writeln!(
            out,
            "{}",
            i18n::deploy_hub(
                lang,
                &i18n::DeployHub {
                    config: &report.hub_config.display().to_string(),
                    node: &root.unit.to_string(),
                    endpoint: &root.endpoint(),
                    data_dir: &report.hub_data_dir.display().to_string(),
                    cert: &report.hub.cert.display().to_string(),
                    operator_cert: &report.operator.cert.display().to_string(),
                    operator_key: &report.operator.key.display().to_string(),
                    listen: &endpoint(report.hub_listen),
                    web: &format!("http://{}", report.hub_web),
                },
            )
        );
    }
    out
}

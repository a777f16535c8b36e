//! The search: breadth-first over an abstract alphabet, merging states by a
//! 128-bit hash of what the model says identifies them, so the first
//! violation found of each kind is a shortest one.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

/// A broken invariant, as the model reports it from one step.
#[derive(Debug, Clone)]
pub struct Broken {
    /// Short name of the invariant (one report per kind).
    pub kind: &'static str,
    /// What was seen.
    pub detail: String,
    /// Transcript expectations of the right behaviour for the failing
    /// step, where the invariant implies them (e.g. `S: 5xx` and `CLOSE`).
    pub expect: &'static [&'static str],
}

impl Broken {
    pub fn new(kind: &'static str, detail: impl Into<String>) -> Broken {
        Broken {
            kind,
            detail: detail.into(),
            expect: &[],
        }
    }

    /// With the expectations the failing step must meet.
    pub fn expecting(mut self, lines: &'static [&'static str]) -> Broken {
        self.expect = lines;
        self
    }
}

/// A violation with its shortest sequence, as a transcript.
#[derive(Debug, Clone)]
pub struct Violation {
    pub kind: &'static str,
    pub detail: String,
    pub depth: usize,
    pub transcript: String,
}

/// What one exploration found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub states: usize,
    pub transitions: u64,
    pub violations: Vec<Violation>,
    pub graph: Option<Graph>,
}

/// Transcript lines written while a path is replayed for a report; off
/// (and free) during the search.
pub struct Log {
    on: bool,
    pub lines: Vec<String>,
}

impl Log {
    pub fn off() -> Log {
        Log {
            on: false,
            lines: Vec::new(),
        }
    }
    pub fn on() -> Log {
        Log {
            on: true,
            lines: Vec::new(),
        }
    }
    pub fn push(&mut self, line: impl FnOnce() -> String) {
        if self.on {
            self.lines.push(line());
        }
    }
}

/// A machine under exploration with its bookkeeping and invariants.
pub trait Model {
    type State: Clone;
    type Input: Copy;
    /// The transcript header (`# side:`, `# mode:`, `# set:` lines) of
    /// the session that starts in initial state `variant`.
    fn header(&self, variant: usize) -> String;
    /// How many configuration variants the side has in this mode.
    fn variants(&self) -> usize {
        1
    }
    /// The state of `variant` before any input.
    fn initial(&self, variant: usize, log: &mut Log) -> Result<Self::State, Broken>;
    /// The inputs enabled in `s` (none: the session is over).
    fn inputs(&self, s: &Self::State) -> Vec<Self::Input>;
    /// Applies one input and checks every invariant.
    fn step(&self, s: &mut Self::State, i: Self::Input, log: &mut Log) -> Result<(), Broken>;
    /// Identity for merging: equal keys are the same state.
    fn key(&self, s: &Self::State) -> u128;
    /// A short abstract description for the state graph.
    fn label(&self, s: &Self::State) -> String;
    /// The input's name in the graph.
    fn input_name(&self, i: Self::Input) -> &'static str;
}

/// A 128-bit hash of a string (two SipHash runs with different prefixes).
pub fn hash128(text: &str) -> u128 {
    let mut a = DefaultHasher::new();
    0xA5u8.hash(&mut a);
    text.hash(&mut a);
    let mut b = DefaultHasher::new();
    0x5Au8.hash(&mut b);
    text.hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

/// Breadth-first exploration to `depth`. With `stop_at`, returns at the
/// end of the first level holding a violation that `stop_at` accepts (the
/// self-test).
pub fn explore<M: Model>(
    m: &M,
    depth: usize,
    graph: bool,
    stop_at: Option<&dyn Fn(&Violation) -> bool>,
) -> Outcome {
    let mut out = Outcome::default();
    let mut g = graph.then(Graph::default);
    let mut inits = Vec::new();
    for v in 0..m.variants() {
        match m.initial(v, &mut Log::off()) {
            Ok(s) => inits.push(s),
            Err(b) => {
                let mut log = Log::on();
                let _ = m.initial(v, &mut log);
                out.violations.push(report(m, v, &b, 0, log));
                return out;
            }
        }
    }
    // Path tree: (parent, input) per reached state; the roots (one per
    // variant) come first and have no input.
    let mut nodes: Vec<(usize, Option<M::Input>)> = Vec::new();
    let mut seen: HashSet<u128> = HashSet::new();
    let mut kinds: BTreeSet<&'static str> = BTreeSet::new();
    if let Some(g) = g.as_mut() {
        g.initial = inits.first().map(|s| m.label(s)).unwrap_or_default();
    }
    let mut frontier = Vec::new();
    for (v, init) in inits.into_iter().enumerate() {
        seen.insert(m.key(&init));
        nodes.push((v, None));
        frontier.push((init, v));
    }
    for d in 1..=depth {
        let mut next = Vec::new();
        for (s, n) in &frontier {
            let from = g.as_ref().map(|_| m.label(s));
            for i in m.inputs(s) {
                if crate::skipped(m.input_name(i)) {
                    continue;
                }
                out.transitions += 1;
                let mut t = s.clone();
                match m.step(&mut t, i, &mut Log::off()) {
                    Err(b) => {
                        if kinds.insert(b.kind) {
                            let (root, path) = path_to(&nodes, *n, i);
                            out.violations.push(replay(m, root, &path, d));
                        }
                    }
                    Ok(()) => {
                        if let (Some(g), Some(from)) = (g.as_mut(), from.as_ref()) {
                            g.edge(from, &m.label(&t), m.input_name(i));
                        }
                        if seen.insert(m.key(&t)) {
                            nodes.push((*n, Some(i)));
                            next.push((t, nodes.len() - 1));
                        }
                    }
                }
            }
        }
        if stop_at.is_some_and(|f| out.violations.iter().any(f)) {
            break;
        }
        frontier = next;
        if frontier.is_empty() {
            break;
        }
    }
    out.states = seen.len();
    out.graph = g;
    out
}

fn path_to<I: Copy>(nodes: &[(usize, Option<I>)], mut n: usize, last: I) -> (usize, Vec<I>) {
    let mut path = vec![last];
    while let (parent, Some(i)) = nodes[n] {
        path.push(i);
        n = parent;
    }
    path.reverse();
    (nodes[n].0, path)
}

/// Runs `path` again with the transcript log on.
fn replay<M: Model>(m: &M, root: usize, path: &[M::Input], depth: usize) -> Violation {
    let mut log = Log::on();
    let mut s = match m.initial(root, &mut log) {
        Ok(s) => s,
        Err(b) => return report(m, root, &b, 0, log),
    };
    for &i in path {
        if let Err(b) = m.step(&mut s, i, &mut log) {
            return report(m, root, &b, depth, log);
        }
    }
    report(
        m,
        root,
        &Broken::new("replay", "the violation did not recur on replay"),
        depth,
        log,
    )
}

fn report<M: Model>(m: &M, variant: usize, b: &Broken, depth: usize, log: Log) -> Violation {
    let mut t = m.header(variant);
    t.push_str(&format!("# title: explore: {}: {}\n", b.kind, b.detail));
    // The failing step's own output is shown as comments (it is what is
    // wrong), followed by what the invariant expects where it says.
    let is_input = |l: &str| {
        let side = if t.contains("# side: client") {
            "S: "
        } else {
            "C: "
        };
        l.starts_with(side) || l == "TLS" || l == "EOF"
    };
    let last_input = log.lines.iter().rposition(|l| is_input(l)).unwrap_or(0);
    for (n, l) in log.lines.iter().enumerate() {
        if n > last_input && !l.starts_with('#') {
            t.push_str("# observed: ");
        }
        t.push_str(l);
        t.push('\n');
    }
    t.push_str(&format!("# ^ violation: {}\n", b.detail));
    for l in b.expect {
        t.push_str(l);
        t.push('\n');
    }
    Violation {
        kind: b.kind,
        detail: b.detail.clone(),
        depth,
        transcript: t,
    }
}

/// The abstract state graph: labels as nodes, input names on edges.
#[derive(Debug, Default)]
pub struct Graph {
    initial: String,
    edges: BTreeMap<(String, String), BTreeSet<&'static str>>,
}

impl Graph {
    fn edge(&mut self, from: &str, to: &str, input: &'static str) {
        self.edges
            .entry((from.to_string(), to.to_string()))
            .or_default()
            .insert(input);
    }

    /// Graphviz text; self-loops are left out to keep the picture readable
    /// (they are listed in each node's tooltip-free label count only).
    pub fn to_dot(&self, title: &str) -> String {
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        names.insert(&self.initial, 0);
        for (from, to) in self.edges.keys() {
            let n = names.len();
            names.entry(from).or_insert(n);
            let n = names.len();
            names.entry(to).or_insert(n);
        }
        let mut s = String::new();
        s.push_str(&format!(
            "digraph explore {{\n  label=\"{title} (self-loops omitted)\";\n  labelloc=t;\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=8];\n"
        ));
        for (name, id) in &names {
            let style = if *id == 0 { ", style=bold" } else { "" };
            s.push_str(&format!("  n{id} [label=\"{}\"{style}];\n", esc(name)));
        }
        for ((from, to), inputs) in &self.edges {
            if from == to {
                continue;
            }
            let list: Vec<&str> = inputs.iter().copied().collect();
            let label = if list.len() > 4 {
                format!("{}, +{}", list[..3].join(", "), list.len() - 3)
            } else {
                list.join(", ")
            };
            s.push_str(&format!(
                "  n{} -> n{} [label=\"{}\"];\n",
                names[from.as_str()],
                names[to.as_str()],
                esc(&label)
            ));
        }
        s.push_str("}\n");
        s
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter mod 10 with inputs +1 and +3; reaching 7 is a violation.
    struct Toy;

    impl Model for Toy {
        type State = u8;
        type Input = u8;
        fn header(&self, _: usize) -> String {
            "# toy\n".into()
        }
        fn initial(&self, _: usize, _: &mut Log) -> Result<u8, Broken> {
            Ok(0)
        }
        fn inputs(&self, _: &u8) -> Vec<u8> {
            vec![1, 3]
        }
        fn step(&self, s: &mut u8, i: u8, log: &mut Log) -> Result<(), Broken> {
            *s = (*s + i) % 10;
            log.push(|| format!("+{i}"));
            if *s == 7 {
                return Err(Broken::new("seven", "reached 7"));
            }
            Ok(())
        }
        fn key(&self, s: &u8) -> u128 {
            u128::from(*s)
        }
        fn label(&self, s: &u8) -> String {
            format!("{}", s % 2)
        }
        fn input_name(&self, i: u8) -> &'static str {
            if i == 1 { "one" } else { "three" }
        }
    }

    #[test]
    fn finds_the_shortest_violation_and_merges_states() {
        let out = explore(&Toy, 6, true, None);
        assert_eq!(out.violations.len(), 1, "one report per kind");
        let v = &out.violations[0];
        // 7 = 3 + 3 + 1 in some order: three steps, no shorter path.
        assert_eq!(v.depth, 3);
        assert_eq!(v.transcript.matches('+').count(), 3);
        // Ten values at most, 7 never entered.
        assert!(out.states <= 9, "{}", out.states);
        let dot = out.graph.expect("graph").to_dot("toy");
        assert!(dot.contains("n0 -> n1") || dot.contains("n1 -> n0"));
    }

    #[test]
    fn hash128_separates_and_repeats() {
        assert_eq!(hash128("a"), hash128("a"));
        assert_ne!(hash128("a"), hash128("b"));
    }
}

//! The text layer of a PDF page as a reader sees it: lines where the page starts a new line,
//! spaces where it leaves a gap, and where on the page every glyph was drawn.
//!
//! A PDF content stream places glyph runs at positions; it has no "line" or "space" of its own.
//! pdfTeX, for one, sets `named mime-info and` as three runs moved apart with `Td`, and ends a
//! line with a move to the next one, so reading only the shown strings glues
//! `http://a.example/spec.html` to the next line's first words. Here the positioning operators
//! are followed (the text and line matrices, `Td`/`TD`/`Tm`/`T*`/`'`/`"`, `TJ` adjustments, the
//! current transformation matrix of `cm` and `q`/`Q`) and every glyph advances by its width from
//! the font's `/Widths` (or a CID font's `/W`). Between two glyphs, a move across the line of
//! more than half the font size is a new line (of more than `BLOCK_MOVE` sizes, a new block:
//! a blank line), and a gap along it wider than `WORD_GAP` of the font size is a space.

use std::collections::HashMap;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Encoding, Object, ObjectId};
use unicode_normalization::UnicodeNormalization;

/// The most decompressed content one page may have; bigger pages are not read.
const MAX_PAGE_CONTENT: usize = 64 * 1024 * 1024;
/// The most a font's `/ToUnicode` map may decompress to.
const MAX_FONT_MAP: usize = 16 * 1024 * 1024;
/// The most width entries read from one CID font's `/W` array.
const MAX_WIDTH_ENTRIES: usize = 65_536;
/// The most glyph positions kept for one page (to find an annotation's anchor text); the text
/// of a page beyond them is still read.
const MAX_GLYPHS: usize = 1 << 20;

/// A gap along the line wider than this fraction of the font size is a space between words.
/// Word spaces are a quarter to a third of an em; kerning moves glyphs by a tenth at most.
const WORD_GAP: f32 = 0.15;
/// A move across the line of more than this fraction of the font size starts a new line; a
/// superscript or a footnote mark is raised by less.
const LINE_MOVE: f32 = 0.5;
/// A move across the line of more than this many font sizes starts a new block (a blank line):
/// consecutive lines of a paragraph are 1.2 sizes apart.
const BLOCK_MOVE: f32 = 1.9;
/// Lines whose font sizes differ by more than this fraction are in different blocks.
const SIZE_CHANGE: f32 = 0.15;
/// Where a font has no widths (one of the standard 14 fonts written without `/Widths`), glyphs
/// are taken to be this wide, and only a gap wider than [`ESTIMATED_WORD_GAP`] is a space.
const ESTIMATED_WIDTH: f32 = 0.5;
const ESTIMATED_WORD_GAP: f32 = 1.0;

/// Where something was drawn, in the page's default user space (the space of `/Rect`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl Rect {
    /// The rectangle of a `/Rect` array (any two opposite corners).
    pub fn from_array(values: &[Object]) -> Option<Self> {
        let n: Vec<f32> = values.iter().filter_map(|v| v.as_float().ok()).collect();
        let [a, b, c, d] = n[..] else { return None };
        Some(Rect {
            x0: a.min(c),
            y0: b.min(d),
            x1: a.max(c),
            y1: b.max(d),
        })
    }

    fn contains(&self, (x, y): (f32, f32)) -> bool {
        // A point on the edge counts: link rectangles are drawn tight around their text.
        const SLACK: f32 = 1.0;
        x >= self.x0 - SLACK && x <= self.x1 + SLACK && y >= self.y0 - SLACK && y <= self.y1 + SLACK
    }
}

/// One glyph of a line: the bytes of [`Line::text`] it wrote and the middle of its box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Glyph {
    pub start: usize,
    pub end: usize,
    pub centre: (f32, f32),
}

/// One line of text; an empty line separates blocks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    pub text: String,
    pub glyphs: Vec<Glyph>,
}

/// The text of one page, line by line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub lines: Vec<Line>,
}

impl Page {
    /// The lines joined by newlines.
    pub fn text(&self) -> String {
        let lines: Vec<&str> = self.lines.iter().map(|l| l.text.as_str()).collect();
        lines.join("\n")
    }

    /// The glyphs drawn inside `rect`, as (line, start, end) spans of text, first to last.
    pub fn spans_in(&self, rect: &Rect) -> Vec<(usize, usize, usize)> {
        let mut spans = Vec::new();
        for (number, line) in self.lines.iter().enumerate() {
            let inside: Vec<&Glyph> = line.glyphs.iter().filter(|g| rect.contains(g.centre)).collect();
            if let (Some(first), Some(last)) = (inside.first(), inside.last()) {
                spans.push((number, first.start, last.end));
            }
        }
        spans
    }
}

/// Lays out the text of one page.
pub fn page(document: &Document, page: ObjectId) -> lopdf::Result<Page> {
    let fonts = document.get_page_fonts(page).unwrap_or_default();
    let fonts: HashMap<Vec<u8>, Font<'_>> = fonts
        .into_iter()
        .map(|(name, dict)| (name, Font::new(document, dict)))
        .collect();
    let content = Content::decode(&document.get_page_content_with_limit(page, MAX_PAGE_CONTENT)?)?;
    let mut layout = Layout::new(&fonts);
    for op in &content.operations {
        layout.apply(&op.operator, &op.operands);
    }
    Ok(layout.finish())
}

// ---------------------------------------------------------------------------------------------
// Geometry

/// An affine transformation `[a b c d e f]`, as PDF writes them: a point `(x, y)` goes to
/// `(a x + c y + e, b x + d y + f)`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Matrix([f32; 6]);

impl Matrix {
    const IDENTITY: Matrix = Matrix([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

    fn translate(x: f32, y: f32) -> Self {
        Matrix([1.0, 0.0, 0.0, 1.0, x, y])
    }

    fn from_operands(operands: &[Object]) -> Option<Self> {
        let n: Vec<f32> = operands.iter().filter_map(|o| o.as_float().ok()).collect();
        let m: [f32; 6] = n.try_into().ok()?;
        m.iter().all(|v| v.is_finite()).then_some(Matrix(m))
    }

    /// `self` then `other` (the product `self × other` of the PDF reference).
    fn then(self, other: Matrix) -> Matrix {
        let [a1, b1, c1, d1, e1, f1] = self.0;
        let [a2, b2, c2, d2, e2, f2] = other.0;
        Matrix([
            a1 * a2 + b1 * c2,
            a1 * b2 + b1 * d2,
            c1 * a2 + d1 * c2,
            c1 * b2 + d1 * d2,
            e1 * a2 + f1 * c2 + e2,
            e1 * b2 + f1 * d2 + f2,
        ])
    }

    fn point(self, x: f32, y: f32) -> (f32, f32) {
        let [a, b, c, d, e, f] = self.0;
        (a * x + c * y + e, b * x + d * y + f)
    }

    fn vector(self, x: f32, y: f32) -> (f32, f32) {
        let [a, b, c, d, _, _] = self.0;
        (a * x + c * y, b * x + d * y)
    }
}

fn length((x, y): (f32, f32)) -> f32 {
    (x * x + y * y).sqrt()
}

// ---------------------------------------------------------------------------------------------
// Fonts

/// What laying out needs of a font: how its codes read as text and how wide each glyph is.
struct Font<'a> {
    encoding: Option<Encoding<'a>>,
    /// Bytes per character code: 2 for composite (`Type0`) fonts, 1 for simple ones.
    code_len: usize,
    widths: Widths,
}

enum Widths {
    /// A simple font's `/Widths` from `/FirstChar`, in glyph units scaled by `scale`.
    Simple {
        first: u32,
        widths: Vec<f32>,
        missing: f32,
        scale: f32,
    },
    /// A CID font's `/W` runs and ranges and its `/DW`, in thousandths.
    Cid {
        runs: Vec<(u32, Vec<f32>)>,
        ranges: Vec<(u32, u32, f32)>,
        default: f32,
    },
    /// No widths given: every glyph [`ESTIMATED_WIDTH`] wide.
    Estimated,
}

impl<'a> Font<'a> {
    fn new(document: &'a Document, dict: &'a Dictionary) -> Self {
        let encoding = dict.get_font_encoding_with_limit(document, MAX_FONT_MAP).ok();
        let subtype = dict.get(b"Subtype").and_then(Object::as_name).unwrap_or_default();
        if subtype == b"Type0" {
            let descendant = get_deref(document, dict, b"DescendantFonts")
                .and_then(|o| o.as_array().ok())
                .and_then(|a| a.first())
                .and_then(|o| document.dereference(o).ok())
                .and_then(|(_, o)| o.as_dict().ok());
            let widths = descendant.map_or(Widths::Estimated, |d| cid_widths(document, d));
            return Font {
                encoding,
                code_len: 2,
                widths,
            };
        }
        let first = get_deref(document, dict, b"FirstChar").and_then(|o| o.as_i64().ok());
        let widths = get_deref(document, dict, b"Widths").and_then(|o| o.as_array().ok());
        let widths = match (first, widths) {
            (Some(first), Some(widths)) if first >= 0 => {
                let missing = get_deref(document, dict, b"FontDescriptor")
                    .and_then(|o| o.as_dict().ok())
                    .and_then(|d| get_deref(document, d, b"MissingWidth"))
                    .and_then(|o| o.as_float().ok())
                    .unwrap_or(0.0);
                // A Type 3 font's widths are in its own glyph space, mapped by /FontMatrix.
                let scale = get_deref(document, dict, b"FontMatrix")
                    .and_then(|o| o.as_array().ok())
                    .and_then(|m| m.first())
                    .and_then(|a| a.as_float().ok())
                    .filter(|s| subtype == b"Type3" && s.is_finite())
                    .unwrap_or(0.001);
                Widths::Simple {
                    first: first as u32,
                    widths: widths.iter().map(|w| number(document, w)).collect(),
                    missing,
                    scale,
                }
            }
            _ => Widths::Estimated,
        };
        Font {
            encoding,
            code_len: 1,
            widths,
        }
    }

    /// The width of the glyph of `code`, in text space units (a fraction of the font size).
    fn width(&self, code: u32) -> f32 {
        let width = match &self.widths {
            Widths::Simple {
                first,
                widths,
                missing,
                scale,
            } => {
                let at = code.checked_sub(*first).and_then(|i| widths.get(i as usize));
                at.copied().unwrap_or(*missing) * scale
            }
            Widths::Cid { runs, ranges, default } => {
                let run = runs
                    .iter()
                    .find_map(|(start, widths)| code.checked_sub(*start).and_then(|i| widths.get(i as usize)).copied());
                let range = || {
                    ranges
                        .iter()
                        .find(|(lo, hi, _)| (*lo..=*hi).contains(&code))
                        .map(|r| r.2)
                };
                run.or_else(range).unwrap_or(*default) / 1000.0
            }
            Widths::Estimated => ESTIMATED_WIDTH,
        };
        if width.is_finite() { width } else { 0.0 }
    }

    fn estimated(&self) -> bool {
        matches!(self.widths, Widths::Estimated)
    }

    /// The text of one character code.
    fn decode(&self, code: &[u8], out: &mut String) {
        let start = out.len();
        let decoded = self
            .encoding
            .as_ref()
            .is_some_and(|e| e.write_to_string(code, out).is_ok());
        if !decoded {
            out.truncate(start);
            out.push_str(&String::from_utf8_lossy(code));
        }
    }
}

/// A CID font's widths: `/W [c [w1 w2 …] cfirst clast w …]` and `/DW`.
fn cid_widths(document: &Document, font: &Dictionary) -> Widths {
    let default = get_deref(document, font, b"DW")
        .and_then(|o| o.as_float().ok())
        .unwrap_or(1000.0);
    let mut runs = Vec::new();
    let mut ranges = Vec::new();
    let entries = get_deref(document, font, b"W").and_then(|o| o.as_array().ok());
    let items: Vec<&Object> = entries
        .into_iter()
        .flatten()
        .take(MAX_WIDTH_ENTRIES)
        .map(|o| document.dereference(o).map_or(o, |(_, o)| o))
        .collect();
    let mut i = 0;
    let code = |o: &Object| o.as_i64().ok().and_then(|c| u32::try_from(c).ok());
    while i + 1 < items.len() {
        let Some(first) = code(items[i]) else { break };
        if let Ok(widths) = items[i + 1].as_array() {
            let widths = widths
                .iter()
                .take(MAX_WIDTH_ENTRIES)
                .map(|w| number(document, w))
                .collect();
            runs.push((first, widths));
            i += 2;
        } else if let (Some(last), Some(width)) = (code(items[i + 1]), items.get(i + 2)) {
            ranges.push((first, last, number(document, width)));
            i += 3;
        } else {
            break;
        }
    }
    runs.sort_by_key(|(start, _)| *start);
    ranges.sort_by_key(|(lo, _, _)| *lo);
    Widths::Cid { runs, ranges, default }
}

fn get_deref<'a>(document: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    dict.get(key)
        .ok()
        .map(|o| document.dereference(o).map_or(o, |(_, o)| o))
}

fn number(document: &Document, object: &Object) -> f32 {
    document
        .dereference(object)
        .map_or(object, |(_, o)| o)
        .as_float()
        .unwrap_or(0.0)
}

// ---------------------------------------------------------------------------------------------
// The interpreter

/// The graphics state's part that text depends on (saved by `q`, restored by `Q`).
#[derive(Clone)]
struct State<'f> {
    ctm: Matrix,
    font: Option<&'f Font<'f>>,
    size: f32,
    char_spacing: f32,
    word_spacing: f32,
    /// `Tz`, as a fraction.
    scale: f32,
    leading: f32,
    rise: f32,
}

/// Where the last glyph ended: its advance point, direction and size, in user space.
#[derive(Debug, Clone, Copy)]
struct Pen {
    end: (f32, f32),
    direction: (f32, f32),
    size: f32,
    estimated: bool,
}

struct Layout<'f> {
    fonts: &'f HashMap<Vec<u8>, Font<'f>>,
    state: State<'f>,
    saved: Vec<State<'f>>,
    text_matrix: Matrix,
    line_matrix: Matrix,
    pen: Option<Pen>,
    page: Page,
    line: Line,
    /// Glyph positions kept so far, up to [`MAX_GLYPHS`].
    glyphs: usize,
}

/// The deepest `q` nesting kept; deeper saves are ignored rather than grown without bound.
const MAX_SAVED: usize = 256;

impl<'f> Layout<'f> {
    fn new(fonts: &'f HashMap<Vec<u8>, Font<'f>>) -> Self {
        Layout {
            fonts,
            state: State {
                ctm: Matrix::IDENTITY,
                font: None,
                size: 0.0,
                char_spacing: 0.0,
                word_spacing: 0.0,
                scale: 1.0,
                leading: 0.0,
                rise: 0.0,
            },
            saved: Vec::new(),
            text_matrix: Matrix::IDENTITY,
            line_matrix: Matrix::IDENTITY,
            pen: None,
            page: Page::default(),
            line: Line::default(),
            glyphs: 0,
        }
    }

    fn apply(&mut self, operator: &str, operands: &[Object]) {
        let n = |i: usize| {
            operands
                .get(i)
                .and_then(|o| o.as_float().ok())
                .filter(|v| v.is_finite())
                .unwrap_or(0.0)
        };
        match operator {
            "q" if self.saved.len() < MAX_SAVED => self.saved.push(self.state.clone()),
            "Q" => {
                if let Some(state) = self.saved.pop() {
                    self.state = state;
                }
            }
            "cm" => {
                if let Some(m) = Matrix::from_operands(operands) {
                    self.state.ctm = m.then(self.state.ctm);
                }
            }
            "BT" => {
                self.text_matrix = Matrix::IDENTITY;
                self.line_matrix = Matrix::IDENTITY;
            }
            "Tf" => {
                let name = operands.first().and_then(|o| o.as_name().ok());
                self.state.font = name.and_then(|name| self.fonts.get(name));
                self.state.size = n(1);
            }
            "Tc" => self.state.char_spacing = n(0),
            "Tw" => self.state.word_spacing = n(0),
            "Tz" => self.state.scale = n(0) / 100.0,
            "TL" => self.state.leading = n(0),
            "Ts" => self.state.rise = n(0),
            "Td" => self.move_line(n(0), n(1)),
            "TD" => {
                self.state.leading = -n(1);
                self.move_line(n(0), n(1));
            }
            "Tm" => {
                if let Some(m) = Matrix::from_operands(operands) {
                    self.text_matrix = m;
                    self.line_matrix = m;
                }
            }
            "T*" => self.next_line(),
            "Tj" => self.show(operands),
            "TJ" => self.show(operands),
            "'" => {
                self.next_line();
                self.show(operands);
            }
            "\"" => {
                self.state.word_spacing = n(0);
                self.state.char_spacing = n(1);
                self.next_line();
                self.show(operands.get(2..).unwrap_or_default());
            }
            _ => {}
        }
    }

    fn move_line(&mut self, x: f32, y: f32) {
        self.line_matrix = Matrix::translate(x, y).then(self.line_matrix);
        self.text_matrix = self.line_matrix;
    }

    fn next_line(&mut self) {
        self.move_line(0.0, -self.state.leading);
    }

    /// Shows the strings of `Tj`, `TJ`, `'` and `"`; a number in a `TJ` array moves the text
    /// position back by that many thousandths of the font size.
    fn show(&mut self, operands: &[Object]) {
        for operand in operands {
            match operand {
                Object::String(bytes, _) => self.show_string(bytes),
                Object::Array(items) => self.show(items),
                Object::Integer(_) | Object::Real(_) => {
                    let adjust = operand.as_float().unwrap_or(0.0);
                    let tx = -adjust / 1000.0 * self.state.size * self.state.scale;
                    if tx.is_finite() {
                        self.text_matrix = Matrix::translate(tx, 0.0).then(self.text_matrix);
                    }
                }
                _ => {}
            }
        }
    }

    fn show_string(&mut self, bytes: &[u8]) {
        let Some(font) = self.state.font else {
            // Text in a font the page does not name: read as Latin-1-ish, without widths.
            self.glyph(
                &String::from_utf8_lossy(bytes),
                ESTIMATED_WIDTH * bytes.len() as f32,
                true,
                false,
            );
            return;
        };
        let mut text = String::new();
        for code in bytes.chunks(font.code_len) {
            let value = code.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b));
            text.clear();
            font.decode(code, &mut text);
            // Word spacing applies to the single-byte code 32 only.
            let is_space = font.code_len == 1 && value == 32;
            self.glyph(&text, font.width(value), font.estimated(), is_space);
        }
    }

    /// Places one glyph reading as `text`, `width` wide in text space, and advances past it.
    fn glyph(&mut self, text: &str, width: f32, estimated: bool, is_space: bool) {
        let state = &self.state;
        let font_matrix = Matrix([state.size * state.scale, 0.0, 0.0, state.size, 0.0, state.rise]);
        let render = font_matrix.then(self.text_matrix).then(state.ctm);
        let origin = render.point(0.0, 0.0);
        let up = render.vector(0.0, 1.0);
        let along = render.vector(1.0, 0.0);
        let size = length(up);
        let direction = {
            let l = length(along);
            if l > 0.0 {
                (along.0 / l, along.1 / l)
            } else {
                (1.0, 0.0)
            }
        };

        let spacing = state.char_spacing + if is_space { state.word_spacing } else { 0.0 };
        let advance = (width * state.size + spacing) * state.scale;
        if advance.is_finite() {
            self.text_matrix = Matrix::translate(advance, 0.0).then(self.text_matrix);
        }
        let end = self.text_matrix.then(state.ctm).point(0.0, 0.0);

        let text = clean(text);
        if text.is_empty() {
            return;
        }
        self.separate(origin, size, estimated);
        let start = self.line.text.len();
        self.line.text.push_str(&text);
        // Halfway along the glyph, a third of the size above the baseline: inside its ink.
        let middle = (
            (origin.0 + end.0) / 2.0 + up.0 / 3.0,
            (origin.1 + end.1) / 2.0 + up.1 / 3.0,
        );
        if self.glyphs < MAX_GLYPHS {
            self.glyphs += 1;
            self.line.glyphs.push(Glyph {
                start,
                end: self.line.text.len(),
                centre: middle,
            });
        }
        self.pen = Some(Pen {
            end,
            direction,
            size,
            estimated,
        });
    }

    /// Starts a new line, a new block or a word before a glyph drawn at `origin`, as the move
    /// from where the last glyph ended says.
    fn separate(&mut self, origin: (f32, f32), size: f32, estimated: bool) {
        let Some(pen) = self.pen else { return };
        let delta = (origin.0 - pen.end.0, origin.1 - pen.end.1);
        let along = delta.0 * pen.direction.0 + delta.1 * pen.direction.1;
        let across = (pen.direction.0 * delta.1 - pen.direction.1 * delta.0).abs();
        let new_size = size;
        let size = size.max(pen.size);
        if size.is_nan() || size <= 0.0 {
            return;
        }
        // A new line in another size (a heading and its paragraph) is a new block too.
        let resized = (size - new_size.min(pen.size)) > SIZE_CHANGE * size;
        if across > BLOCK_MOVE * size || (across > LINE_MOVE * size && resized) {
            self.end_line();
            self.page.lines.push(Line::default());
        } else if across > LINE_MOVE * size || along < -2.0 * size {
            self.end_line();
        } else {
            let gap = if estimated || pen.estimated {
                ESTIMATED_WORD_GAP
            } else {
                WORD_GAP
            };
            if along > gap * size && !self.line.text.ends_with(char::is_whitespace) {
                self.line.text.push(' ');
            }
        }
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        self.page.lines.push(line);
    }

    fn finish(mut self) -> Page {
        if !self.line.text.is_empty() {
            self.end_line();
        }
        // No blank lines at the ends, none doubled.
        let mut lines: Vec<Line> = Vec::with_capacity(self.page.lines.len());
        for line in self.page.lines {
            let blank = line.text.trim().is_empty();
            if blank && lines.last().is_none_or(|l: &Line| l.text.trim().is_empty()) {
                continue;
            }
            lines.push(line);
        }
        while lines.last().is_some_and(|l| l.text.trim().is_empty()) {
            lines.pop();
        }
        Page { lines }
    }
}

/// The text of a glyph as a reader reads it: ligatures (`ﬁ`) spelt out, control characters
/// (codes a font maps to nothing) dropped, other whitespace a plain space.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{fb00}'..='\u{fb06}' => out.extend(c.nfkc()),
            c if c.is_whitespace() => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrices_compose_in_pdf_order() {
        let scale = Matrix([2.0, 0.0, 0.0, 2.0, 0.0, 0.0]);
        let moved = Matrix::translate(10.0, 5.0);
        // Scale first, then move: (1, 1) → (2, 2) → (12, 7).
        assert_eq!(scale.then(moved).point(1.0, 1.0), (12.0, 7.0));
        assert_eq!(moved.then(scale).point(1.0, 1.0), (22.0, 12.0));
    }

    #[test]
    fn cid_widths_come_from_runs_then_ranges_then_the_default() {
        let font = Font {
            encoding: None,
            code_len: 2,
            widths: Widths::Cid {
                runs: vec![(3, vec![250.0, 300.0]), (100, vec![700.0])],
                ranges: vec![(10, 20, 500.0)],
                default: 1000.0,
            },
        };
        let widths: Vec<f32> = [3, 4, 5, 10, 20, 21, 100, 101, 2]
            .iter()
            .map(|&c| font.width(c))
            .collect();
        assert_eq!(widths, [0.25, 0.3, 1.0, 0.5, 0.5, 1.0, 0.7, 1.0, 1.0]);
    }

    #[test]
    fn ligatures_are_spelt_out_and_controls_dropped() {
        assert_eq!(clean("\u{fb01}le\u{0}\t"), "file ");
    }

    #[test]
    fn rectangles_take_any_two_corners() {
        let rect = Rect::from_array(&[10.into(), 20.into(), 0.into(), 5.into()]).unwrap();
        assert_eq!(
            rect,
            Rect {
                x0: 0.0,
                y0: 5.0,
                x1: 10.0,
                y1: 20.0
            }
        );
        assert!(rect.contains((10.5, 5.0)));
        assert!(!rect.contains((12.0, 5.0)));
        assert!(Rect::from_array(&[1.into()]).is_none());
    }
}

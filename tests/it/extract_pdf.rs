//! `linkkeep extract` on PDF: link annotations, URLs in the text layer, and a URL the layout
//! broke across two lines, in small PDFs generated here with lopdf. Guards issue #6, and
//! issue #21: lines and word gaps come from the content stream's positioning, and a link
//! annotation's note is the sentence drawn under it.

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Object, Stream, dictionary};

use super::extract_text::{extract_in, urls_of};

/// A one-page PDF whose text is `lines` (one `Td` move each) in Helvetica (a standard font
/// written without widths) and whose link annotations point at `annotations`.
pub fn pdf_with(lines: &[&str], annotations: &[&str]) -> Vec<u8> {
    let font = dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    };
    let mut operations = vec![
        op("BT", vec![]),
        op("Tf", vec!["F1".into(), 10.into()]),
        op("Td", vec![50.into(), 750.into()]),
    ];
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            operations.push(op("Td", vec![0.into(), (-14).into()]));
        }
        operations.push(op("Tj", vec![s(line)]));
    }
    operations.push(op("ET", vec![]));
    let annotations: Vec<(&str, [i64; 4])> = annotations
        .iter()
        .enumerate()
        .map(|(i, uri)| {
            let y = 700 - 20 * i as i64;
            (*uri, [50, y, 300, y + 12])
        })
        .collect();
    one_page_pdf(font, operations, &annotations)
}

/// A one-page PDF drawn by `operations` in `/F1`, a monospaced font 600 units wide whose
/// `/Widths` say so (at size 10, a glyph is 6 points wide), with link annotations
/// `(uri, [x0, y0, x1, y1])`.
fn pdf_drawn(operations: Vec<Operation>, annotations: &[(&str, [i64; 4])]) -> Vec<u8> {
    let font = dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Courier",
        "Encoding" => "WinAnsiEncoding",
        "FirstChar" => 32,
        "LastChar" => 126,
        "Widths" => vec![Object::Integer(600); 95],
    };
    one_page_pdf(font, operations, annotations)
}

/// A one-page PDF drawn by `operations` with `font` as `/F1`, with link annotations
/// `(uri, [x0, y0, x1, y1])`.
fn one_page_pdf(font: Dictionary, operations: Vec<Operation>, annotations: &[(&str, [i64; 4])]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(font);
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let content = Content { operations };
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
    let annots: Vec<Object> = annotations
        .iter()
        .map(|(uri, rect)| {
            doc.add_object(dictionary! {
                "Type" => "Annot",
                "Subtype" => "Link",
                "Rect" => rect.iter().map(|&v| Object::Integer(v)).collect::<Vec<_>>(),
                "Border" => vec![0.into(), 0.into(), 0.into()],
                "A" => dictionary! { "S" => "URI", "URI" => Object::string_literal(*uri) },
            })
            .into()
        })
        .collect();
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "Contents" => content_id,
        "Resources" => resources_id,
        "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        "Annots" => annots,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

/// Runs `extract` with `args` on `pdf` written as `doc.pdf`: links.json and stderr, after
/// asserting exit 0.
fn extracted(pdf: &[u8], args: &[&str]) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("doc.pdf"), pdf).unwrap();
    let args: Vec<&str> = args.iter().copied().chain(["doc.pdf"]).collect();
    let (code, stdout, stderr) = extract_in(dir.path(), &args, None);
    assert_eq!(code, 0, "{stderr}");
    (serde_json::from_str(&stdout).unwrap(), stderr)
}

fn op(operator: &str, operands: Vec<Object>) -> Operation {
    Operation::new(operator, operands)
}

fn s(text: &str) -> Object {
    Object::string_literal(text)
}

#[test]
fn annotations_text_urls_and_a_broken_url() {
    let pdf = pdf_with(
        &[
            "An updated version is found at: http://www.apig.ch/Gaps%20r9%20",
            "clean.pdf and the minutes at",
            "https://minutes.example/2018/wgec.",
            "Next sentence on its own line.",
        ],
        &[
            // Drawn over the last line, whose URL it repeats: listed once, from the text.
            "http://www.apig.ch/Gaps%20r9%20clean.pdf",
            // Drawn over no text: its note says where it is.
            "https://annotated.example/only-here",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("doc.pdf"), &pdf).unwrap();
    let (code, stdout, stderr) = extract_in(dir.path(), &["doc.pdf"], None);
    assert_eq!(code, 0, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        urls_of(&doc),
        [
            "http://www.apig.ch/Gaps%20r9%20clean.pdf",
            "https://minutes.example/2018/wgec",
            "https://annotated.example/only-here",
        ]
    );
    assert_eq!(
        doc["links"][0]["note"],
        "An updated version is found at: http://www.apig.ch/Gaps%20r9%20clean.pdf and the minutes at"
    );
    assert_eq!(doc["links"][2]["note"], "link on page 1");

    // Sniffed without the extension, from standard input.
    let (code, stdout, stderr) = extract_in(dir.path(), &["-"], Some(pdf));
    assert_eq!(code, 0, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(urls_of(&doc).len(), 3);
}

/// A page laid out the way typesetters do it (issue #21): words apart by `TJ` gaps and `Td`
/// moves, kerning, URLs at line ends, one broken after a `/`, and a link annotation over the
/// anchor text "the licence" of the last line.
pub fn laid_out_pdf() -> Vec<u8> {
    let next_line = || op("Td", vec![0.into(), (-12).into()]);
    let operations = vec![
        op("BT", vec![]),
        op("Tf", vec!["F1".into(), 10.into()]),
        op("Td", vec![72.into(), 700.into()]),
        // A gap of a third of the size inside `TJ` is a space.
        op(
            "TJ",
            vec![vec![s("The spec is at"), (-333).into(), s("http://a.example/spec.html.")].into()],
        ),
        next_line(),
        // The next line starts with URL-like words: a new sentence, not the URL's continuation.
        // "RFC-2119" is 48 points wide; the `Td` to 60 leaves 12 points, a space.
        op("Tj", vec![s("RFC-2119")]),
        op("Td", vec![60.into(), 0.into()]),
        op("Tj", vec![s("Key words for use in RFCs.")]),
        op("Td", vec![(-60).into(), (-12).into()]),
        op("Tj", vec![s("See")]),
        op("Td", vec![25.into(), 0.into()]),
        op("Tj", vec![s("http://b.example/copyleft/.")]),
        op("Td", vec![(-25).into(), (-12).into()]),
        // Kerning is no space.
        op(
            "TJ",
            vec![
                vec![
                    s("Kerned W"),
                    60.into(),
                    s("ord and a long link http://c.example/docs/"),
                ]
                .into(),
            ],
        ),
        next_line(),
        op("Tj", vec![s("guide.html continues here.")]),
        next_line(),
        op("Tj", vec![s("Read the licence for terms.")]),
        op("ET", vec![]),
    ];
    // "the licence" is characters 5 to 16 of the last line: x from 102 to 168, baseline 640.
    pdf_drawn(operations, &[("https://licence.example/", [101, 637, 169, 649])])
}

/// Issue #21: a URL ends where its line ends, words set apart by `TJ` gaps or `Td` moves are
/// separate words, a URL broken after a `/` is joined, and an annotation's note is the sentence
/// of its anchor text.
#[test]
fn lines_and_word_gaps_come_from_the_positions_and_annotations_get_their_sentence() {
    let pdf = laid_out_pdf();
    let (doc, _) = extracted(&pdf, &[]);
    assert_eq!(
        urls_of(&doc),
        [
            "http://a.example/spec.html",
            "http://b.example/copyleft/",
            "http://c.example/docs/guide.html",
            "https://licence.example/",
        ]
    );
    let notes: Vec<&str> = doc["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["note"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        [
            "The spec is at http://a.example/spec.html.",
            "See http://b.example/copyleft/.",
            "Kerned Word and a long link http://c.example/docs/guide.html continues here.",
            "Read the licence for terms.",
        ]
    );
}

/// Issue #21: a link annotation whose anchor text is its own URL is judged as a URL of the
/// text: one the sentence names a namespace is left out, unless `--all`.
#[test]
fn a_link_showing_a_namespace_name_is_left_out_unless_all() {
    let operations = vec![
        op("BT", vec![]),
        op("Tf", vec!["F1".into(), 10.into()]),
        op("Td", vec![72.into(), 700.into()]),
        op("Tj", vec![s("The namespace URI is http://ns.example/vocab.")]),
        op("ET", vec![]),
    ];
    // "http://ns.example/vocab" is characters 21 to 44: x from 198 to 336.
    let pdf = pdf_drawn(operations, &[("http://ns.example/vocab", [197, 697, 337, 709])]);
    let (doc, stderr) = extracted(&pdf, &[]);
    assert!(urls_of(&doc).is_empty(), "{doc}");
    assert!(
        stderr.contains("http://ns.example/vocab (an XML namespace name)"),
        "{stderr}"
    );

    let (doc, _) = extracted(&pdf, &["--all"]);
    assert_eq!(urls_of(&doc), ["http://ns.example/vocab"]);
}

//! `linkkeep extract` on PDF: link annotations, URLs in the text layer, and a URL the layout
//! broke across two lines, in a small PDF generated here with lopdf. Guards issue #6.

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};

use super::extract_text::{extract_in, urls_of};

/// A one-page PDF whose text is `lines` (one `Td` move each) and whose link annotations point
/// at `annotations`.
pub fn pdf_with(lines: &[&str], annotations: &[&str]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut operations = vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), 10.into()]),
        Operation::new("Td", vec![50.into(), 750.into()]),
    ];
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            operations.push(Operation::new("Td", vec![0.into(), (-14).into()]));
        }
        operations.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
    }
    operations.push(Operation::new("ET", vec![]));
    let content = Content { operations };
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
    let annots: Vec<Object> = annotations
        .iter()
        .enumerate()
        .map(|(i, uri)| {
            let y = 700 - 20 * i as i64;
            doc.add_object(dictionary! {
                "Type" => "Annot",
                "Subtype" => "Link",
                "Rect" => vec![50.into(), y.into(), 300.into(), (y + 12).into()],
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
            "https://annotated.example/only-here",
            "http://www.apig.ch/Gaps%20r9%20clean.pdf",
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

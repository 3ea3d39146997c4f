use super::objects::base64;
use super::*;

#[test]
fn base64_is_the_standard_alphabet_with_padding() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64(&[0xff, 0xfe, 0x00, 0x01]), "//4AAQ==");
}

#[test]
fn column_equals_is_parsed_not_sql() {
    let c = ColumnEquals::parse(" email = a=b ").unwrap();
    assert_eq!(c.column, "email");
    assert_eq!(c.value, " a=b ");
    assert!(ColumnEquals::parse("no equals sign").is_err());
    assert!(ColumnEquals::parse("=x").is_err());
}

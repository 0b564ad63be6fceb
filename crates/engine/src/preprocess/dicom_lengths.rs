//! A walk over a DICOM file's element headers before dicom-rs reads it: every declared length
//! must fit in what is left of the file (or of the item or sequence that holds it).
//!
//! dicom-rs reserves a value's declared length before reading it, so a 2 KB file that claims a
//! 4 GB value made the engine take 4 GB of memory before failing (found by the
//! `dicom_preprocess` fuzz target; in the Worker, such a file could take the tab down). The walk
//! reads headers only, never values, and refuses nesting deeper than any real study uses.

use std::io::Read;

use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: Tag = Tag(0xFFFE, 0xE000);
const ITEM_END: Tag = Tag(0xFFFE, 0xE00D);
const SEQUENCE_END: Tag = Tag(0xFFFE, 0xE0DD);
/// Sequences within sequences: real studies nest a few levels; a hostile one could nest until
/// the stack overflows.
const MAX_DEPTH: u32 = 32;
/// A deflated data set may expand this far, and no further, before it is walked.
const MAX_INFLATED: u64 = 256 << 20;

const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
const IMPLICIT: &str = "1.2.840.10008.1.2";

/// Checks `body` (the file from its `DICM` marker on). An error says which element lies.
pub(crate) fn check(body: &[u8]) -> Result<(), String> {
    let meta = Walker { data: body, explicit: true };
    // The file meta group (0002,xxxx) is always explicit VR little endian, after "DICM".
    let (end, syntax) = meta.meta_group(4)?;
    let rest = &body[end..];
    match syntax.as_str() {
        DEFLATED => {
            let mut inflated = Vec::new();
            let mut reader = flate2::read::DeflateDecoder::new(rest).take(MAX_INFLATED + 1);
            reader.read_to_end(&mut inflated).map_err(|e| format!("the deflated data set does not inflate: {e}"))?;
            if inflated.len() as u64 > MAX_INFLATED {
                return Err(format!("the deflated data set expands past {} MiB", MAX_INFLATED >> 20));
            }
            Walker { data: &inflated, explicit: true }.elements(0, inflated.len(), 0, false).map(|_| ())
        }
        syntax => Walker { data: rest, explicit: syntax != IMPLICIT }.elements(0, rest.len(), 0, false).map(|_| ()),
    }
}

struct Walker<'a> {
    data: &'a [u8],
    explicit: bool,
}

impl Walker<'_> {
    fn u16_at(&self, pos: usize) -> Result<u16, String> {
        let bytes = self.data.get(pos..pos + 2).ok_or("the file ends inside an element header")?;
        Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
    }

    fn u32_at(&self, pos: usize) -> Result<u32, String> {
        let bytes = self.data.get(pos..pos + 4).ok_or("the file ends inside an element header")?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// The end of the file meta group that starts at `pos`, and its transfer syntax UID.
    ///
    /// As dicom-rs reads it: the group's first element, (0002,0000), gives its length in bytes,
    /// and the elements after it are meta elements until that many bytes are read, whatever
    /// their group. (Ending the group where the tags leave group 0002 instead let a file whose
    /// group length says otherwise start its data set elsewhere for dicom-rs than for this
    /// walk: found by the fuzz target, 4 GB reserved for a 1.2 KB deflated study.)
    fn meta_group(&self, pos: usize) -> Result<(usize, String), String> {
        let group_length = Tag(0x0002, 0x0000);
        let (header, length, _) = self.raw_header(pos)?;
        if self.tag(pos) != group_length || length != 4 {
            return Err(format!("the file meta group does not start with its length {group_length}"));
        }
        let end = pos + header + 4;
        let declared = self.u32_at(pos + header)? as usize;
        let mut syntax = String::new();
        let mut pos = end;
        while pos - end < declared {
            let (header, length, _) = self.raw_header(pos)?;
            if length == UNDEFINED {
                return Err(format!("meta element {} has an undefined length", self.tag(pos)));
            }
            let value = pos + header..pos + header + length as usize;
            let bytes = self.data.get(value.clone()).ok_or_else(|| too_long(self.tag(pos), length))?;
            if self.tag(pos) == Tag(0x0002, 0x0010) {
                syntax = String::from_utf8_lossy(bytes).trim_end_matches(['\0', ' ']).to_string();
            }
            pos = value.end;
        }
        Ok((pos, syntax))
    }

    fn tag(&self, pos: usize) -> Tag {
        Tag(self.u16_at(pos).unwrap_or(0), self.u16_at(pos + 2).unwrap_or(0))
    }

    /// The header's size, the declared length, and whether the value is a sequence. A binary
    /// value's length must be a whole number of its values: dicom-rs reads `length / size`
    /// values but counts `length` bytes as read, so the rest shifted every later header (found
    /// by the fuzz target: an AT of 2 bytes made it read a length of 4 GB out of the next one).
    fn header(&self, pos: usize) -> Result<(usize, u32, bool), String> {
        let (header, length, vr) = self.raw_header(pos)?;
        let size = vr.map_or(1, value_size);
        if length != UNDEFINED && length as usize % size != 0 {
            let vr = vr.map_or("?", |vr| vr.to_string());
            return Err(format!(
                "element {} ({vr}) has {length} bytes, not a whole number of {size}-byte values",
                self.tag(pos)
            ));
        }
        Ok((header, length, vr == Some(VR::SQ)))
    }

    /// The header's size, the declared length, and the VR (read, or the dictionary's).
    fn raw_header(&self, pos: usize) -> Result<(usize, u32, Option<VR>), String> {
        let tag = self.tag(pos);
        if tag.group() == 0xFFFE {
            return Ok((8, self.u32_at(pos + 4)?, None));
        }
        if !self.explicit {
            let vr =
                dicom_core::dictionary::DataDictionary::by_tag(&StandardDataDictionary, tag).map(|e| e.vr.relaxed());
            return Ok((8, self.u32_at(pos + 4)?, vr));
        }
        let code = self.data.get(pos + 4..pos + 6).ok_or("the file ends inside an element header")?;
        // Not a VR at all: dicom-rs would read some length from somewhere, and reserve it (found
        // by the fuzz target: 2.1 GB for a 2.4 KB study).
        let vr = Some(
            VR::from_binary([code[0], code[1]]).ok_or_else(|| format!("element {} has no valid VR", self.tag(pos)))?,
        );
        let long = matches!(
            code,
            b"OB" | b"OD" | b"OF" | b"OL" | b"OV" | b"OW" | b"SQ" | b"SV" | b"UC" | b"UN" | b"UR" | b"UT" | b"UV"
        );
        if long {
            Ok((12, self.u32_at(pos + 8)?, vr))
        } else {
            Ok((8, u32::from(self.u16_at(pos + 6)?), vr))
        }
    }

    /// Walks the elements from `pos` up to `end`, or up to the delimiter that closes an item or
    /// sequence of undefined length; returns where it stopped. In `fragments` (encapsulated
    /// pixel data), items hold compressed bytes, not elements.
    fn elements(&self, mut pos: usize, end: usize, depth: u32, fragments: bool) -> Result<usize, String> {
        if depth > MAX_DEPTH {
            return Err(format!("sequences are nested more than {MAX_DEPTH} deep"));
        }
        while pos < end {
            let tag = self.tag(pos);
            let (header, length, sequence) = self.header(pos)?;
            let unknown = self.explicit && self.data.get(pos + 4..pos + 6) == Some(b"UN".as_slice());
            pos += header;
            if tag == ITEM_END || tag == SEQUENCE_END {
                return Ok(pos);
            }
            if length == UNDEFINED {
                pos = if tag == ITEM || sequence {
                    self.elements(pos, end, depth + 1, false)?
                } else if unknown {
                    // An explicit file's UN of undefined length is a sequence in implicit VR.
                    Walker { data: self.data, explicit: false }.elements(pos, end, depth + 1, false)?
                } else {
                    // Encapsulated pixel data: fragments up to the sequence delimiter.
                    self.elements(pos, end, depth + 1, true)?
                };
                continue;
            }
            let value_end =
                pos.checked_add(length as usize).filter(|&e| e <= end).ok_or_else(|| too_long(tag, length))?;
            if sequence || (tag == ITEM && !fragments) {
                self.elements(pos, value_end, depth + 1, false)?;
            }
            pos = value_end;
        }
        Ok(pos)
    }
}

/// The size of one value of a binary VR, as dicom-rs reads it; 1 for text and bytes.
fn value_size(vr: VR) -> usize {
    match vr {
        VR::US | VR::SS | VR::OW => 2,
        VR::AT | VR::UL | VR::SL | VR::FL | VR::OF | VR::OL => 4,
        VR::FD | VR::OD | VR::SV | VR::UV | VR::OV => 8,
        _ => 1,
    }
}

fn too_long(tag: Tag, length: u32) -> String {
    format!("element {tag} declares {length} bytes, more than the file holds there")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit(tag: (u16, u16), vr: &[u8; 2], value: &[u8], length: Option<u32>) -> Vec<u8> {
        let mut out = [tag.0.to_le_bytes(), tag.1.to_le_bytes()].concat();
        out.extend_from_slice(vr);
        out.extend_from_slice(&length.unwrap_or(value.len() as u32).to_le_bytes()[..2]);
        out.extend_from_slice(value);
        out
    }

    #[test]
    fn a_length_past_the_end_and_a_deep_nesting_are_refused() {
        let walker = |data: &[u8]| Walker { data, explicit: true }.elements(0, data.len(), 0, false);
        let good = explicit((0x0008, 0x0060), b"CS", b"CT", None);
        assert!(walker(&good).is_ok());
        let lying = explicit((0x0008, 0x0060), b"CS", b"CT", Some(400));
        assert!(walker(&lying).unwrap_err().contains("declares 400 bytes"));
        // Items of undefined length inside each other, with no end.
        let mut deep = Vec::new();
        for _ in 0..40 {
            deep.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        assert!(walker(&deep).unwrap_err().contains("nested more than"));
    }
}

//! Named solid colours shared by the clip generator and the colour judge.

/// A named RGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Colour {
    pub name: &'static str,
    pub rgb: [u8; 3],
}

impl Colour {
    pub const fn new(name: &'static str, rgb: [u8; 3]) -> Self {
        Self { name, rgb }
    }

    /// `0xRRGGBB`, the form ffmpeg's `color=` source accepts.
    pub fn ffmpeg_hex(&self) -> String {
        let [r, g, b] = self.rgb;
        format!("0x{r:02X}{g:02X}{b:02X}")
    }
}

pub const RED: Colour = Colour::new("red", [255, 0, 0]);
pub const GREEN: Colour = Colour::new("green", [0, 255, 0]);
pub const BLUE: Colour = Colour::new("blue", [0, 0, 255]);
pub const YELLOW: Colour = Colour::new("yellow", [255, 255, 0]);
pub const MAGENTA: Colour = Colour::new("magenta", [255, 0, 255]);
pub const CYAN: Colour = Colour::new("cyan", [0, 255, 255]);
pub const WHITE: Colour = Colour::new("white", [255, 255, 255]);
pub const BLACK: Colour = Colour::new("black", [0, 0, 0]);

/// Eight colours far apart from each other (pairwise RGB distance ≥ 255), which
/// survive YUV 4:2:0 and lossy coding with room to spare.
pub const ALL: [Colour; 8] = [RED, GREEN, BLUE, YELLOW, MAGENTA, CYAN, WHITE, BLACK];

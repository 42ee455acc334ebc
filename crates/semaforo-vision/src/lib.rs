//! Frames, frame sources, zones and vehicle detection (see the frame-sources and detection issues).

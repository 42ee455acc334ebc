//! A small TraCI client: the binary protocol SUMO speaks on its `--remote-port`.
//!
//! Only what the evaluation needs: the version handshake, simulation steps, reading variables
//! (lane-area detectors, lanes, traffic lights), setting a traffic light's state and closing.
//! Several commands travel in one message and their answers come back in order, except that
//! SUMO runs a simulation step after every other command of its message and answers it last.
//!
//! Wire format (SUMO's TraCI documentation): a message is a 4-byte big-endian length (itself
//! included) followed by commands. A command is a 1-byte length (itself included) or, when
//! longer than 255 bytes, a zero byte and a 4-byte length; then the command id and its content.
//! SUMO answers every command with a status (command id, result code, description) and, for a
//! get command, a response command (id + 0x10) carrying the variable, the object id, a type
//! byte and the value. Strings are a 4-byte length and UTF-8 bytes.
//!
//! `traci-rs` was considered; it covers far more than this and was not a fit for batching a
//! step with its reads, so this module is the client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Command ids and variables used here (SUMO's `traci/constants.py`).
pub mod id {
    /// Version handshake.
    pub const GET_VERSION: u8 = 0x00;
    /// Advance the simulation.
    pub const SIM_STEP: u8 = 0x02;
    /// End the session; SUMO writes its outputs and exits.
    pub const CLOSE: u8 = 0x7F;
    /// Read a traffic light's variable.
    pub const GET_TL: u8 = 0xa2;
    /// Read a lane's variable.
    pub const GET_LANE: u8 = 0xa3;
    /// Read a lane-area (E2) detector's variable.
    pub const GET_LANEAREA: u8 = 0xad;
    /// Read a simulation-wide variable.
    pub const GET_SIM: u8 = 0xab;
    /// Vehicles whose departure time has come but that are not inserted yet (ids).
    pub const PENDING_VEHICLES: u8 = 0x94;
    /// Vehicles that started a teleport in the last step.
    pub const TELEPORT_STARTING_VEHICLES_NUMBER: u8 = 0x75;
    /// Set a traffic light's variable.
    pub const SET_TL: u8 = 0xc2;
    /// Their ids.
    pub const LAST_STEP_VEHICLE_ID_LIST: u8 = 0x12;
    /// Vehicles slower than 0.1 m/s (queued) in the last step.
    pub const LAST_STEP_HALTING_NUMBER: u8 = 0x14;
    /// A traffic light's state string, one letter per controlled link.
    pub const TL_RED_YELLOW_GREEN_STATE: u8 = 0x20;
    /// Integer type tag.
    pub const TYPE_INTEGER: u8 = 0x09;
    /// Double type tag.
    pub const TYPE_DOUBLE: u8 = 0x0B;
    /// String type tag.
    pub const TYPE_STRING: u8 = 0x0C;
    /// String list type tag.
    pub const TYPE_STRINGLIST: u8 = 0x0E;
}

/// A TraCI failure: the connection, SUMO refusing a command, or a reply that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum TraciError {
    /// Reading or writing the socket failed.
    #[error("TraCI connection to SUMO failed: {0}")]
    Io(#[from] std::io::Error),
    /// SUMO answered a command with an error status.
    #[error("SUMO refused TraCI command 0x{command:02x}: {description}")]
    Refused {
        /// The command id.
        command: u8,
        /// SUMO's description.
        description: String,
    },
    /// The reply does not follow the protocol.
    #[error("malformed TraCI reply: {0}")]
    Malformed(String),
}

/// A value read from SUMO.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `TYPE_INTEGER`.
    Int(i32),
    /// `TYPE_DOUBLE`.
    Double(f64),
    /// `TYPE_STRING`.
    Str(String),
    /// `TYPE_STRINGLIST`.
    StrList(Vec<String>),
}

impl Value {
    /// The value as a count (integers, and doubles that hold whole numbers).
    pub fn as_count(&self) -> Result<u32, TraciError> {
        match self {
            Value::Int(n) => u32::try_from(*n)
                .map_err(|_| TraciError::Malformed(format!("expected a count, got {n}"))),
            other => Err(TraciError::Malformed(format!(
                "expected an integer, got {other:?}"
            ))),
        }
    }

    /// The value as a string list.
    pub fn into_list(self) -> Result<Vec<String>, TraciError> {
        match self {
            Value::StrList(v) => Ok(v),
            other => Err(TraciError::Malformed(format!(
                "expected a string list, got {other:?}"
            ))),
        }
    }

    /// The value as a string.
    pub fn into_string(self) -> Result<String, TraciError> {
        match self {
            Value::Str(s) => Ok(s),
            other => Err(TraciError::Malformed(format!(
                "expected a string, got {other:?}"
            ))),
        }
    }
}

/// What a queued command answers besides its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Status only (set, close).
    Status,
    /// A simulation step: the status and the number of subscription results (we subscribe to
    /// nothing, so it must be zero).
    Step,
    /// A get command: a response command with one value.
    Value { command: u8, variable: u8 },
    /// The version handshake: API level and a version string.
    Version,
}

/// Commands to send together in one message, and what each will answer.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    bytes: Vec<u8>,
    answers: Vec<Answer>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Batch::default()
    }

    fn push_command(&mut self, command: u8, content: &[u8], answer: Answer) {
        let short = 2 + content.len();
        if short <= 255 {
            self.bytes.push(short as u8);
        } else {
            self.bytes.push(0);
            self.bytes
                .extend_from_slice(&((short + 4) as u32).to_be_bytes());
        }
        self.bytes.push(command);
        self.bytes.extend_from_slice(content);
        self.answers.push(answer);
    }

    /// The version handshake.
    pub fn get_version(&mut self) -> &mut Self {
        self.push_command(id::GET_VERSION, &[], Answer::Version);
        self
    }

    /// One simulation step (target time 0: a single step of `--step-length`).
    pub fn step(&mut self) -> &mut Self {
        self.push_command(id::SIM_STEP, &0f64.to_be_bytes(), Answer::Step);
        self
    }

    /// Reads `variable` of object `object` in the domain `command` (e.g. [`id::GET_LANEAREA`]).
    pub fn get(&mut self, command: u8, variable: u8, object: &str) -> &mut Self {
        let mut content = vec![variable];
        put_string(&mut content, object);
        self.push_command(command, &content, Answer::Value { command, variable });
        self
    }

    /// Sets traffic light `tls` to `state` (one letter per controlled link: `G g y r o O`).
    pub fn set_tls_state(&mut self, tls: &str, state: &str) -> &mut Self {
        let mut content = vec![id::TL_RED_YELLOW_GREEN_STATE];
        put_string(&mut content, tls);
        content.push(id::TYPE_STRING);
        put_string(&mut content, state);
        self.push_command(id::SET_TL, &content, Answer::Status);
        self
    }

    /// Ends the session.
    pub fn close(&mut self) -> &mut Self {
        self.push_command(id::CLOSE, &[], Answer::Status);
        self
    }

    /// The message: total length, then the commands.
    pub fn message(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes.len() + 4);
        out.extend_from_slice(&((self.bytes.len() + 4) as u32).to_be_bytes());
        out.extend_from_slice(&self.bytes);
        out
    }

    /// Parses SUMO's reply to this batch (without the 4-byte message length): one value per
    /// get command, in order. A version handshake yields its API level as [`Value::Int`].
    pub fn parse_reply(&self, reply: &[u8]) -> Result<Vec<Value>, TraciError> {
        let mut r = Reader::new(reply);
        let mut values = Vec::new();
        // SUMO performs a step after every other command of the message and answers it last.
        let others = self.answers.iter().filter(|a| **a != Answer::Step);
        let steps = self.answers.iter().filter(|a| **a == Answer::Step);
        for answer in others.chain(steps) {
            let expected = match answer {
                Answer::Status | Answer::Step | Answer::Version => None,
                Answer::Value { command, .. } => Some(*command),
            };
            r.status(expected)?;
            match *answer {
                Answer::Status => {}
                Answer::Step => {
                    let subscriptions = r.i32()?;
                    if subscriptions != 0 {
                        return Err(TraciError::Malformed(format!(
                            "{subscriptions} subscription results after a step; none were requested"
                        )));
                    }
                }
                Answer::Version => {
                    let (_, cmd) = r.command_header()?;
                    if cmd != id::GET_VERSION {
                        return Err(TraciError::Malformed(format!(
                            "version reply has command id 0x{cmd:02x}"
                        )));
                    }
                    let api = r.i32()?;
                    let _name = r.string()?;
                    values.push(Value::Int(api));
                }
                Answer::Value { command, variable } => {
                    let (_, cmd) = r.command_header()?;
                    if cmd != command.wrapping_add(0x10) {
                        return Err(TraciError::Malformed(format!(
                            "expected response 0x{:02x}, got 0x{cmd:02x}",
                            command.wrapping_add(0x10)
                        )));
                    }
                    let var = r.u8()?;
                    if var != variable {
                        return Err(TraciError::Malformed(format!(
                            "expected variable 0x{variable:02x}, got 0x{var:02x}"
                        )));
                    }
                    let _object = r.string()?;
                    values.push(r.value()?);
                }
            }
        }
        if r.remaining() != 0 {
            return Err(TraciError::Malformed(format!(
                "{} unexpected bytes after the last answer",
                r.remaining()
            )));
        }
        Ok(values)
    }
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A bounds-checked reader over a reply.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], TraciError> {
        if self.remaining() < n {
            return Err(TraciError::Malformed(format!(
                "reply ends after {} bytes; {n} more were expected at offset {}",
                self.bytes.len(),
                self.pos
            )));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, TraciError> {
        Ok(self.take(1)?[0])
    }

    fn i32(&mut self) -> Result<i32, TraciError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f64(&mut self) -> Result<f64, TraciError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_be_bytes(a))
    }

    fn len(&mut self) -> Result<usize, TraciError> {
        let n = self.i32()?;
        usize::try_from(n).map_err(|_| TraciError::Malformed(format!("negative length {n}")))
    }

    fn string(&mut self) -> Result<String, TraciError> {
        let n = self.len()?;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec())
            .map_err(|_| TraciError::Malformed("a string is not UTF-8".into()))
    }

    /// A command's length and id.
    fn command_header(&mut self) -> Result<(usize, u8), TraciError> {
        let short = self.u8()?;
        let len = if short == 0 {
            self.len()?
        } else {
            usize::from(short)
        };
        Ok((len, self.u8()?))
    }

    /// A status command; `expected` is the command id it must answer, when known.
    fn status(&mut self, expected: Option<u8>) -> Result<(), TraciError> {
        let (_, command) = self.command_header()?;
        if let Some(e) = expected {
            if e != command {
                return Err(TraciError::Malformed(format!(
                    "status for command 0x{command:02x}, expected 0x{e:02x}"
                )));
            }
        }
        let result = self.u8()?;
        let description = self.string()?;
        if result != 0 {
            return Err(TraciError::Refused {
                command,
                description,
            });
        }
        Ok(())
    }

    fn value(&mut self) -> Result<Value, TraciError> {
        match self.u8()? {
            id::TYPE_INTEGER => Ok(Value::Int(self.i32()?)),
            id::TYPE_DOUBLE => Ok(Value::Double(self.f64()?)),
            id::TYPE_STRING => Ok(Value::Str(self.string()?)),
            id::TYPE_STRINGLIST => {
                let n = self.len()?;
                let mut v = Vec::with_capacity(n.min(4096));
                for _ in 0..n {
                    v.push(self.string()?);
                }
                Ok(Value::StrList(v))
            }
            t => Err(TraciError::Malformed(format!(
                "unsupported value type 0x{t:02x}"
            ))),
        }
    }
}

/// The largest reply accepted (a step's detector readings are a few kilobytes).
const MAX_REPLY: usize = 64 << 20;

/// A connected TraCI session.
pub struct Client {
    stream: TcpStream,
    reply: Vec<u8>,
}

impl Client {
    /// Wraps a connected socket; replies slower than `timeout` are an error (a hung SUMO must
    /// not hang the evaluation).
    pub fn new(stream: TcpStream, timeout: Duration) -> Result<Self, TraciError> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Client {
            stream,
            reply: Vec::new(),
        })
    }

    /// Sends `batch` and returns the values it reads.
    pub fn send(&mut self, batch: &Batch) -> Result<Vec<Value>, TraciError> {
        self.stream.write_all(&batch.message())?;
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len)?;
        let total = u32::from_be_bytes(len) as usize;
        if !(4..=MAX_REPLY).contains(&total) {
            return Err(TraciError::Malformed(format!(
                "reply length {total} (expected 4 to {MAX_REPLY} bytes)"
            )));
        }
        self.reply.resize(total - 4, 0);
        self.stream.read_exact(&mut self.reply)?;
        batch.parse_reply(&self.reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(command: u8, result: u8, description: &str) -> Vec<u8> {
        let mut v = vec![(2 + 1 + 4 + description.len()) as u8, command, result];
        put_string(&mut v, description);
        v
    }

    #[test]
    fn a_step_and_a_detector_read_encode_as_one_message() {
        let mut b = Batch::new();
        b.step()
            .get(id::GET_LANEAREA, id::LAST_STEP_HALTING_NUMBER, "e2_A_0");
        let m = b.message();
        let mut expected = vec![0, 0, 0, 4 + 10 + 13];
        expected.extend_from_slice(&[10, id::SIM_STEP]);
        expected.extend_from_slice(&0f64.to_be_bytes());
        expected.extend_from_slice(&[13, id::GET_LANEAREA, id::LAST_STEP_HALTING_NUMBER]);
        expected.extend_from_slice(&[0, 0, 0, 6]);
        expected.extend_from_slice(b"e2_A_0");
        assert_eq!(m, expected);
    }

    #[test]
    fn commands_over_255_bytes_use_the_extended_length() {
        let state = "r".repeat(300);
        let mut b = Batch::new();
        b.set_tls_state("C", &state);
        let m = b.message();
        // 0, then a 4-byte length counting itself and the zero byte: 1 + 4 + id + content.
        let content = 1 + 4 + 1 + 1 + 4 + 300;
        assert_eq!(m[4], 0);
        assert_eq!(
            u32::from_be_bytes([m[5], m[6], m[7], m[8]]) as usize,
            1 + 4 + 1 + content
        );
        assert_eq!(m[9], id::SET_TL);
        assert_eq!(m.len(), 4 + 1 + 4 + 1 + content);
    }

    #[test]
    fn replies_decode_to_values_in_order() {
        let mut b = Batch::new();
        b.set_tls_state("C", "Gr")
            .step()
            .get(id::GET_LANEAREA, id::LAST_STEP_VEHICLE_ID_LIST, "d")
            .get(id::GET_LANE, id::LAST_STEP_HALTING_NUMBER, "A_0");
        let mut reply = status(id::SET_TL, 0, "");
        reply.extend(status(id::GET_LANEAREA, 0, ""));
        let mut resp = vec![0xbd, id::LAST_STEP_VEHICLE_ID_LIST];
        put_string(&mut resp, "d");
        resp.push(id::TYPE_STRINGLIST);
        resp.extend_from_slice(&2i32.to_be_bytes());
        put_string(&mut resp, "v1");
        put_string(&mut resp, "v2");
        reply.push((resp.len() + 1) as u8);
        reply.extend(resp);
        reply.extend(status(id::GET_LANE, 0, ""));
        let mut resp = vec![0xb3, id::LAST_STEP_HALTING_NUMBER];
        put_string(&mut resp, "A_0");
        resp.push(id::TYPE_INTEGER);
        resp.extend_from_slice(&7i32.to_be_bytes());
        reply.push((resp.len() + 1) as u8);
        reply.extend(resp);
        // The step, queued second, is answered last.
        reply.extend(status(id::SIM_STEP, 0, ""));
        reply.extend_from_slice(&0i32.to_be_bytes());

        let values = b.parse_reply(&reply).unwrap();
        assert_eq!(
            values,
            vec![
                Value::StrList(vec!["v1".into(), "v2".into()]),
                Value::Int(7)
            ]
        );
        assert_eq!(values[1].as_count().unwrap(), 7);
    }

    #[test]
    fn an_error_status_carries_sumos_description() {
        let mut b = Batch::new();
        b.set_tls_state("X", "G");
        let reply = status(id::SET_TL, 0xff, "Traffic light 'X' is not known");
        let e = b.parse_reply(&reply).unwrap_err();
        assert_eq!(
            e.to_string(),
            "SUMO refused TraCI command 0xc2: Traffic light 'X' is not known"
        );
    }

    #[test]
    fn a_truncated_reply_is_an_error_not_a_panic() {
        let mut b = Batch::new();
        b.step();
        let mut reply = status(id::SIM_STEP, 0, "");
        reply.extend_from_slice(&[0, 0]);
        let e = b.parse_reply(&reply).unwrap_err();
        assert!(e.to_string().contains("reply ends after"), "{e}");
        for cut in 0..reply.len() {
            assert!(b.parse_reply(&reply[..cut]).is_err());
        }
    }
}

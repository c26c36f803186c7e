//! Notify message types used here (RFC 7296 3.10.1, RFC 7296 IANA registry) and
//! the Notify payload.

/// UNSUPPORTED_CRITICAL_PAYLOAD.
pub const UNSUPPORTED_CRITICAL_PAYLOAD: u16 = 1;
/// INVALID_IKE_SPI.
pub const INVALID_IKE_SPI: u16 = 4;
/// INVALID_MAJOR_VERSION.
pub const INVALID_MAJOR_VERSION: u16 = 5;
/// INVALID_SYNTAX.
pub const INVALID_SYNTAX: u16 = 7;
/// INVALID_MESSAGE_ID.
pub const INVALID_MESSAGE_ID: u16 = 9;
/// INVALID_SPI.
pub const INVALID_SPI: u16 = 11;
/// NO_PROPOSAL_CHOSEN.
pub const NO_PROPOSAL_CHOSEN: u16 = 14;
/// INVALID_KE_PAYLOAD.
pub const INVALID_KE_PAYLOAD: u16 = 17;
/// AUTHENTICATION_FAILED.
pub const AUTHENTICATION_FAILED: u16 = 24;
/// SINGLE_PAIR_REQUIRED.
pub const SINGLE_PAIR_REQUIRED: u16 = 34;
/// NO_ADDITIONAL_SAS.
pub const NO_ADDITIONAL_SAS: u16 = 35;
/// INTERNAL_ADDRESS_FAILURE.
pub const INTERNAL_ADDRESS_FAILURE: u16 = 36;
/// FAILED_CP_REQUIRED.
pub const FAILED_CP_REQUIRED: u16 = 37;
/// TS_UNACCEPTABLE.
pub const TS_UNACCEPTABLE: u16 = 38;
/// INVALID_SELECTORS.
pub const INVALID_SELECTORS: u16 = 39;
/// TEMPORARY_FAILURE.
pub const TEMPORARY_FAILURE: u16 = 43;
/// CHILD_SA_NOT_FOUND.
pub const CHILD_SA_NOT_FOUND: u16 = 44;
/// INITIAL_CONTACT.
pub const INITIAL_CONTACT: u16 = 16384;
/// SET_WINDOW_SIZE.
pub const SET_WINDOW_SIZE: u16 = 16385;
/// NAT_DETECTION_SOURCE_IP.
pub const NAT_DETECTION_SOURCE_IP: u16 = 16388;
/// SIGNATURE_HASH_ALGORITHMS (RFC 7427).
pub const SIGNATURE_HASH_ALGORITHMS: u16 = 16431;
/// NAT_DETECTION_DESTINATION_IP.
pub const NAT_DETECTION_DESTINATION_IP: u16 = 16389;
/// COOKIE.
pub const COOKIE: u16 = 16390;
/// USE_TRANSPORT_MODE.
pub const USE_TRANSPORT_MODE: u16 = 16391;
/// REKEY_SA.
pub const REKEY_SA: u16 = 16393;
/// ESP_TFC_PADDING_NOT_SUPPORTED.
pub const ESP_TFC_PADDING_NOT_SUPPORTED: u16 = 16394;
/// NON_FIRST_FRAGMENTS_ALSO.
pub const NON_FIRST_FRAGMENTS_ALSO: u16 = 16395;

/// Types below this value are errors (RFC 7296 3.10.1).
pub const FIRST_STATUS: u16 = 16384;

/// Notify payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyPayload {
    /// Protocol ID (0 when no SPI).
    pub protocol: u8,
    /// Notify message type.
    pub ntype: u16,
    /// SPI (may be empty).
    pub spi: Vec<u8>,
    /// Notification data.
    pub data: Vec<u8>,
}

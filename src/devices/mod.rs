//! Several devices per person: the person's signed device list, and linking a new device.
//!
//! A person (a clinician or a client) is named by their *person key*: the identity key of their
//! first device, the primary, which alone holds its private key. The person key signs the list
//! of the person's devices ([`DeviceList`], [`SignedDeviceList`]); every device has its own
//! identity key and prekeys, and the primary's device key is the person key itself, so a person
//! with one device has the list `[person key]`. Safety numbers and agreements stay bound to the
//! person key.
//!
//! A new device joins through a code shown on the primary ([`LinkOffer::code`]) and entered on
//! the new device ([`LinkCode::parse`]): the new device sends a [`LinkRequest`] that proves it
//! knows the code and holds its device key; the primary accepts it ([`LinkOffer::accept`]), signs
//! a new list with the device and answers with a [`LinkResponse`] the new device checks against
//! the same code. A relay that carries these messages cannot add a device of its own.
//!
//! This module holds the types and the cryptography only; storing lists, refusing older list
//! versions and sending messages to every device are the endpoint's.

mod code;
mod error;
mod link;
mod list;

pub use code::LinkCode;
pub use error::DeviceError;
pub use link::{
    LinkOffer, LinkRequest, LinkResponse, LinkedDevice, LINK_CODE_LABEL, LINK_REQUEST_INFO,
    LINK_REQUEST_LABEL, LINK_RESPONSE_INFO, LINK_RESPONSE_LABEL,
};
pub use list::{Device, DeviceList, SignedDeviceList, DEVICE_LIST_LABEL};

/// The protobuf types of `proto/devices.proto`; they never appear in a public signature.
#[allow(unreachable_pub, missing_docs, clippy::all, clippy::pedantic)]
mod proto {
    include!(concat!(env!("OUT_DIR"), "/confidant.devices.rs"));
}

#[cfg(test)]
mod tests;

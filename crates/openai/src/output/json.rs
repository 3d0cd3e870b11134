//! `serde` helpers of the fast readings of an output line and of a model's answer: a struct read
//! only from a JSON object, as an optional field or as a field that defaults.

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A struct `T` read only from a JSON object, never from an array: `serde`'s derived structs would
/// also take an array, which the `Value` reading treats differently.
pub(super) struct Obj<T>(pub(super) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Only<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Only<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        d.deserialize_map(Only(std::marker::PhantomData))
    }
}

/// An optional field holding an object (`null` → `None`), for `#[serde(deserialize_with)]`.
///
/// # Errors
/// When the field is neither `null` nor an object `T` reads.
pub(super) fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Ok(Option::<Obj<T>>::deserialize(d)?.map(|Obj(t)| t))
}

/// A field holding an object, `T::default()` when it is `null`, for
/// `#[serde(deserialize_with)]` (with `#[serde(default)]` for an absent field).
///
/// # Errors
/// As [`object`].
pub(super) fn object_or_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    object(d).map(Option::unwrap_or_default)
}

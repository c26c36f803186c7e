//! A small, deliberately plain AES and GHASH for the hardware team: key
//! expansion (round keys), single-block AES encryption, the GHASH key
//! H = E_K(0^128), multiplication in GF(2^128) as GCM defines it (bit-reflected,
//! NIST SP 800-38D section 6.3) and a full GHASH (section 6.4).
//!
//! Pure Rust, table-free except for the S-box, not constant time and not fast:
//! it exists so that the hardware pipeline's intermediate values (each round
//! key, the hash key, each GHASH step) can be compared one by one. It is checked
//! against FIPS-197 appendix A/C and SP 800-38D (GCM spec test cases) below and
//! against the production backends on random inputs.

/// The AES S-box (FIPS-197 figure 7).
pub const SBOX: [u8; 256] = build_sbox();

const fn gf8_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    let mut i = 0;
    while i < 8 {
        if b & 1 != 0 {
            p ^= a;
        }
        let hi = a & 0x80;
        a <<= 1;
        if hi != 0 {
            a ^= 0x1b;
        }
        b >>= 1;
        i += 1;
    }
    p
}

const fn gf8_inv(a: u8) -> u8 {
    // a^254 by square-and-multiply; 0 maps to 0.
    let mut result = 1u8;
    let mut base = a;
    let mut e = 254u32;
    while e > 0 {
        if e & 1 != 0 {
            result = gf8_mul(result, base);
        }
        base = gf8_mul(base, base);
        e >>= 1;
    }
    if a == 0 {
        0
    } else {
        result
    }
}

const fn build_sbox() -> [u8; 256] {
    let mut s = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = gf8_inv(i as u8);
        // Affine transform (FIPS-197 equation 5.1).
        let x =
            b ^ b.rotate_left(1) ^ b.rotate_left(2) ^ b.rotate_left(3) ^ b.rotate_left(4) ^ 0x63;
        s[i] = x;
        i += 1;
    }
    s
}

/// AES key size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AesKeySize {
    /// 128-bit key, 10 rounds.
    Aes128,
    /// 256-bit key, 14 rounds.
    Aes256,
}

impl AesKeySize {
    /// Number of rounds (Nr).
    pub const fn rounds(self) -> usize {
        match self {
            AesKeySize::Aes128 => 10,
            AesKeySize::Aes256 => 14,
        }
    }
}

/// Expanded AES round keys: `rounds + 1` keys of 16 bytes each, round key 0
/// first, each in the byte order of FIPS-197 (w[4i] .. w[4i+3], big-endian words).
#[derive(Clone, PartialEq, Eq)]
pub struct RoundKeys {
    size: AesKeySize,
    keys: [[u8; 16]; 15],
}

impl core::fmt::Debug for RoundKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RoundKeys({:?}, <redacted>)", self.size)
    }
}

impl Drop for RoundKeys {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for k in self.keys.iter_mut() {
            k.zeroize();
        }
    }
}

/// The oracle refuses key lengths other than 16 and 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("AES key must be 16 or 32 bytes, got {0}")]
pub struct KeyLengthError(pub usize);

impl RoundKeys {
    /// The key size.
    pub fn size(&self) -> AesKeySize {
        self.size
    }
    /// Round keys 0..=Nr.
    pub fn as_slice(&self) -> &[[u8; 16]] {
        self.keys.get(..=self.size.rounds()).unwrap_or(&[])
    }
}

/// AES key expansion (FIPS-197 section 5.2) for a 16- or 32-byte key.
pub fn expand_key(key: &[u8]) -> Result<RoundKeys, KeyLengthError> {
    let (size, nk) = match key.len() {
        16 => (AesKeySize::Aes128, 4usize),
        32 => (AesKeySize::Aes256, 8usize),
        n => return Err(KeyLengthError(n)),
    };
    let nr = size.rounds();
    let total = 4 * (nr + 1);
    let mut w = [[0u8; 4]; 60];
    for (i, chunk) in key.chunks_exact(4).enumerate() {
        w[i].copy_from_slice(chunk);
    }
    let mut rcon = 1u8;
    for i in nk..total {
        let mut t = w[i - 1];
        if i % nk == 0 {
            t = sub_word(rot_word(t));
            t[0] ^= rcon;
            rcon = gf8_mul(rcon, 2);
        } else if nk > 6 && i % nk == 4 {
            t = sub_word(t);
        }
        for j in 0..4 {
            w[i][j] = w[i - nk][j] ^ t[j];
        }
    }
    let mut keys = [[0u8; 16]; 15];
    for (r, k) in keys.iter_mut().enumerate().take(nr + 1) {
        for c in 0..4 {
            k[4 * c..4 * c + 4].copy_from_slice(&w[4 * r + c]);
        }
    }
    Ok(RoundKeys { size, keys })
}

fn add_round_key(s: &mut [u8; 16], k: &[u8; 16]) {
    for (a, b) in s.iter_mut().zip(k.iter()) {
        *a ^= b;
    }
}

fn sub_bytes(s: &mut [u8; 16]) {
    for b in s.iter_mut() {
        *b = SBOX[*b as usize];
    }
}

/// SubWord of the key expansion (FIPS-197 section 5.2): the S-box on each byte.
fn sub_word(w: [u8; 4]) -> [u8; 4] {
    w.map(|b| SBOX[b as usize])
}

/// RotWord of the key expansion: `[a0, a1, a2, a3]` to `[a1, a2, a3, a0]`.
fn rot_word([a0, a1, a2, a3]: [u8; 4]) -> [u8; 4] {
    [a1, a2, a3, a0]
}

fn shift_rows(s: &mut [u8; 16]) {
    // State byte (row r, column c) is s[r + 4c].
    let t = *s;
    for r in 0..4 {
        for c in 0..4 {
            s[r + 4 * c] = t[r + 4 * ((c + r) % 4)];
        }
    }
}

fn mix_columns(s: &mut [u8; 16]) {
    for c in 0..4 {
        let a = [s[4 * c], s[4 * c + 1], s[4 * c + 2], s[4 * c + 3]];
        s[4 * c] = gf8_mul(a[0], 2) ^ gf8_mul(a[1], 3) ^ a[2] ^ a[3];
        s[4 * c + 1] = a[0] ^ gf8_mul(a[1], 2) ^ gf8_mul(a[2], 3) ^ a[3];
        s[4 * c + 2] = a[0] ^ a[1] ^ gf8_mul(a[2], 2) ^ gf8_mul(a[3], 3);
        s[4 * c + 3] = gf8_mul(a[0], 3) ^ a[1] ^ a[2] ^ gf8_mul(a[3], 2);
    }
}

/// Encrypts one block with expanded round keys (FIPS-197 section 5.1).
pub fn encrypt_block(rk: &RoundKeys, block: &[u8; 16]) -> [u8; 16] {
    cipher(rk, block, |_| {})
}

/// The state after each round (index 0 = after the initial AddRoundKey), for
/// comparing a pipelined implementation stage by stage.
pub fn encrypt_block_trace(rk: &RoundKeys, block: &[u8; 16]) -> Vec<[u8; 16]> {
    let mut out = Vec::with_capacity(rk.size.rounds() + 1);
    cipher(rk, block, |s| out.push(*s));
    out
}

/// The Cipher of FIPS-197 (section 5.1), handing the state after each round
/// (the initial AddRoundKey first) to `after_round`.
fn cipher(rk: &RoundKeys, block: &[u8; 16], mut after_round: impl FnMut(&[u8; 16])) -> [u8; 16] {
    let nr = rk.size.rounds();
    let mut s = *block;
    for (round, k) in rk.as_slice().iter().enumerate() {
        if round > 0 {
            sub_bytes(&mut s);
            shift_rows(&mut s);
            if round < nr {
                mix_columns(&mut s);
            }
        }
        add_round_key(&mut s, k);
        after_round(&s);
    }
    s
}

/// The GHASH key H = E_K(0^128) (SP 800-38D section 6.4).
pub fn ghash_key(rk: &RoundKeys) -> [u8; 16] {
    encrypt_block(rk, &[0u8; 16])
}

/// Multiplication in GF(2^128) as GCM defines it (SP 800-38D algorithm 1):
/// bit 0 is the most significant bit of byte 0, reduction by
/// R = 11100001 || 0^120.
pub fn gf128_mul(x: &[u8; 16], y: &[u8; 16]) -> [u8; 16] {
    let x = u128::from_be_bytes(*x);
    let mut v = u128::from_be_bytes(*y);
    let mut z = 0u128;
    for i in 0..128 {
        if (x >> (127 - i)) & 1 == 1 {
            z ^= v;
        }
        let lsb = v & 1;
        v >>= 1;
        if lsb == 1 {
            v ^= 0xe1 << 120;
        }
    }
    z.to_be_bytes()
}

/// GHASH_H over `aad` and `ciphertext`, each zero-padded to a block, followed by
/// the 64-bit bit lengths of both (the S value of SP 800-38D algorithm 4, step 5).
pub fn ghash(h: &[u8; 16], aad: &[u8], ciphertext: &[u8]) -> [u8; 16] {
    let mut y = [0u8; 16];
    let absorb = |data: &[u8], y: &mut [u8; 16]| {
        for chunk in data.chunks(16) {
            let mut b = [0u8; 16];
            b[..chunk.len()].copy_from_slice(chunk);
            for (a, c) in y.iter_mut().zip(b.iter()) {
                *a ^= c;
            }
            *y = gf128_mul(y, h);
        }
    };
    absorb(aad, &mut y);
    absorb(ciphertext, &mut y);
    let mut lens = [0u8; 16];
    lens[..8].copy_from_slice(&((aad.len() as u64) * 8).to_be_bytes());
    lens[8..].copy_from_slice(&((ciphertext.len() as u64) * 8).to_be_bytes());
    for (a, c) in y.iter_mut().zip(lens.iter()) {
        *a ^= c;
    }
    gf128_mul(&y, h)
}

/// A complete AES-GCM encryption with a 12-byte nonce built from the pieces
/// above (SP 800-38D algorithm 4), returning ciphertext and tag. Slow; for
/// checking hardware and the production backends.
pub fn gcm_seal(
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<(Vec<u8>, [u8; 16]), KeyLengthError> {
    let rk = expand_key(key)?;
    let h = ghash_key(&rk);
    let mut counter = [0u8; 16];
    counter[..12].copy_from_slice(nonce);
    counter[15] = 1;
    let j0 = counter;
    let mut ct = Vec::with_capacity(plaintext.len());
    let mut ctr = 1u32;
    for chunk in plaintext.chunks(16) {
        ctr = ctr.wrapping_add(1);
        counter[12..].copy_from_slice(&ctr.to_be_bytes());
        let ks = encrypt_block(&rk, &counter);
        ct.extend(chunk.iter().zip(ks.iter()).map(|(p, k)| p ^ k));
    }
    let s = ghash(&h, aad, &ct);
    let ek = encrypt_block(&rk, &j0);
    let mut tag = [0u8; 16];
    for i in 0..16 {
        tag[i] = s[i] ^ ek[i];
    }
    Ok((ct, tag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Aead, BackendKind, GcmKey};
    use rand::{Rng, RngCore, SeedableRng};

    fn h16(s: &str) -> [u8; 16] {
        let v = hex::decode(s).unwrap();
        v.try_into().unwrap()
    }

    #[test]
    fn sbox_spot_values() {
        // FIPS-197 figure 7.
        assert_eq!(SBOX[0x00], 0x63);
        assert_eq!(SBOX[0x53], 0xed);
        assert_eq!(SBOX[0xff], 0x16);
    }

    #[test]
    fn fips197_appendix_a1_key_expansion() {
        // FIPS-197 appendix A.1: key 2b7e1516 28aed2a6 abf71588 09cf4f3c.
        let rk = expand_key(&hex::decode("2b7e151628aed2a6abf7158809cf4f3c").unwrap()).unwrap();
        assert_eq!(rk.as_slice().len(), 11);
        assert_eq!(rk.as_slice()[1], h16("a0fafe1788542cb123a339392a6c7605"));
        assert_eq!(rk.as_slice()[10], h16("d014f9a8c9ee2589e13f0cc8b6630ca6"));
    }

    #[test]
    fn fips197_appendix_a3_key_expansion_256() {
        // FIPS-197 appendix A.3: w[8] = 9ba35411, w[59] = 706c631e.
        let key = hex::decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
            .unwrap();
        let rk = expand_key(&key).unwrap();
        assert_eq!(rk.as_slice().len(), 15);
        assert_eq!(
            &rk.as_slice()[2][..4],
            &hex::decode("9ba35411").unwrap()[..]
        );
        assert_eq!(
            &rk.as_slice()[14][12..],
            &hex::decode("706c631e").unwrap()[..]
        );
    }

    #[test]
    fn fips197_appendix_c_encrypt() {
        // FIPS-197 appendix C.1 and C.3.
        let pt = h16("00112233445566778899aabbccddeeff");
        let rk = expand_key(&hex::decode("000102030405060708090a0b0c0d0e0f").unwrap()).unwrap();
        assert_eq!(
            encrypt_block(&rk, &pt),
            h16("69c4e0d86a7b0430d8cdb78070b4c55a")
        );
        let trace = encrypt_block_trace(&rk, &pt);
        // C.1: round[1].start = 89d810e8855ace682d1843d8cb128fe4 (state after round 0).
        assert_eq!(trace[1], h16("89d810e8855ace682d1843d8cb128fe4"));
        let rk = expand_key(
            &hex::decode("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            encrypt_block(&rk, &pt),
            h16("8ea2b7ca516745bfeafc49904b496089")
        );
    }

    #[test]
    fn gcm_spec_test_case_2_and_4() {
        // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 2:
        // K = 0^128, P = 0^128, IV = 0^96: H = 66e94bd4ef8a2c3b884cfa59ca342b2e,
        // C = 0388dace60b6a392f328c2b971b2fe78, T = ab6e47d42cec13bdf53a67b21257bddf.
        let key = [0u8; 16];
        let rk = expand_key(&key).unwrap();
        assert_eq!(ghash_key(&rk), h16("66e94bd4ef8a2c3b884cfa59ca342b2e"));
        let (ct, tag) = gcm_seal(&key, &[0u8; 12], &[], &[0u8; 16]).unwrap();
        assert_eq!(ct, hex::decode("0388dace60b6a392f328c2b971b2fe78").unwrap());
        assert_eq!(tag, h16("ab6e47d42cec13bdf53a67b21257bddf"));
        // Test case 2's GHASH(H, {}, C) = f38cbb1ad69223dcc3457ae5b6b0f885.
        assert_eq!(
            ghash(&h16("66e94bd4ef8a2c3b884cfa59ca342b2e"), &[], &ct),
            h16("f38cbb1ad69223dcc3457ae5b6b0f885")
        );
        // Test case 4 (AAD, 60-byte plaintext).
        let key = hex::decode("feffe9928665731c6d6a8f9467308308").unwrap();
        let iv: [u8; 12] = hex::decode("cafebabefacedbaddecaf888")
            .unwrap()
            .try_into()
            .unwrap();
        let pt = hex::decode("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39").unwrap();
        let aad = hex::decode("feedfacedeadbeeffeedfacedeadbeefabaddad2").unwrap();
        let (ct, tag) = gcm_seal(&key, &iv, &aad, &pt).unwrap();
        assert_eq!(ct, hex::decode("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091").unwrap());
        assert_eq!(tag, h16("5bc94fbc3221a5db94fae95ae7121a47"));
    }

    #[test]
    fn gf128_mul_identity_and_commutes() {
        // The multiplicative identity in GCM's bit-reflected convention is 0x80 || 0^120.
        let one = h16("80000000000000000000000000000000");
        let x = h16("66e94bd4ef8a2c3b884cfa59ca342b2e");
        assert_eq!(gf128_mul(&one, &x), x);
        let y = h16("0388dace60b6a392f328c2b971b2fe78");
        assert_eq!(gf128_mul(&x, &y), gf128_mul(&y, &x));
    }

    #[test]
    fn oracle_matches_backends_on_random_inputs() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(197);
        for i in 0..40 {
            let mut key = vec![0u8; if i % 2 == 0 { 16 } else { 32 }];
            rng.fill_bytes(&mut key);
            let mut nonce = [0u8; 12];
            rng.fill_bytes(&mut nonce);
            let mut aad = vec![0u8; rng.gen_range(0..33)];
            rng.fill_bytes(&mut aad);
            let mut pt = vec![0u8; rng.gen_range(0..100)];
            rng.fill_bytes(&mut pt);
            let (ct, tag) = gcm_seal(&key, &nonce, &aad, &pt).unwrap();
            for backend in BackendKind::ALL {
                let k = GcmKey::new(backend, &key).unwrap();
                let mut buf = pt.clone();
                let t = k.seal_in_place(&nonce, &aad, &mut buf).unwrap();
                assert_eq!(buf, ct);
                assert_eq!(t, tag);
            }
        }
        assert!(expand_key(&[0u8; 24]).is_err());
    }
}

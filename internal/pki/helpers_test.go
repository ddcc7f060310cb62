package pki

import (
	"crypto/rsa"
	"math/big"
)

// rsaPublicKeyOfBits is an RSA public key whose modulus has the given bit
// length; only the length matters to checkAgentKey, so no primes are made.
func rsaPublicKeyOfBits(bits int) *rsa.PublicKey {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	n.Add(n, big.NewInt(1))
	return &rsa.PublicKey{N: n, E: 65537}
}

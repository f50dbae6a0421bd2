#!/usr/bin/env python3
"""Verify an electronic seal (SESeal) or seal signature (SES_Signature) independently of certhall.

usage: sesverify.py seal FILE --ca CA.pem [--maker MAKER.pem] [--at UNIX]
       sesverify.py signature FILE --ca CA.pem [--document DOC] [--at UNIX]

Definitions follow GB/T 38540-2020 (and the 2025 edition's optional time stamps) and GM/T
0031-2014, written here with asn1crypto; SM2 signatures with the GM/T 0009 default ID are checked
with gmssl. The seal-maker's and signer's certificates must be signed by the CA given (--ca).
Prints one line per step and exits 0 when every step passes, 1 with "FAIL <step>" otherwise.
"""
import sys
from asn1crypto import core, pem, x509
from gmssl import sm2, sm3, func

SM3_WITH_SM2 = "1.2.156.10197.1.501"
UID = b"1234567812345678"


class Header(core.Sequence):
    _fields = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


class Picture(core.Sequence):
    _fields = [("type", core.IA5String), ("data", core.OctetString),
               ("width", core.Integer), ("height", core.Integer)]


class ExtData(core.Sequence):
    _fields = [("extn_id", core.ObjectIdentifier), ("critical", core.Boolean, {"default": False}),
               ("extn_value", core.OctetString)]


class ExtDatas(core.SequenceOf):
    _child_spec = ExtData


class OctetList(core.SequenceOf):
    _child_spec = core.OctetString


class Property2020(core.Sequence):
    _fields = [("type", core.Integer), ("name", core.UTF8String), ("cert_list_type", core.Integer),
               ("cert_list", OctetList), ("create_date", core.GeneralizedTime),
               ("valid_start", core.GeneralizedTime), ("valid_end", core.GeneralizedTime)]


class Property2014(core.Sequence):
    _fields = [("type", core.Integer), ("name", core.UTF8String), ("cert_list", OctetList),
               ("create_date", core.UTCTime), ("valid_start", core.UTCTime), ("valid_end", core.UTCTime)]


class SealInfo2020(core.Sequence):
    _fields = [("header", Header), ("es_id", core.IA5String), ("property", Property2020),
               ("picture", Picture), ("ext_datas", ExtDatas, {"optional": True})]


class SealInfo2014(core.Sequence):
    _fields = [("header", Header), ("es_id", core.IA5String), ("property", Property2014),
               ("picture", Picture), ("ext_datas", ExtDatas, {"optional": True})]


class Seal2020(core.Sequence):
    _fields = [("e_seal_info", SealInfo2020), ("cert", core.OctetString),
               ("sign_alg_id", core.ObjectIdentifier), ("signed_value", core.OctetBitString),
               ("time_stamp", core.OctetBitString, {"explicit": 0, "optional": True})]


class SignInfo2014(core.Sequence):
    _fields = [("cert", core.OctetString), ("signature_algorithm", core.ObjectIdentifier),
               ("sign_data", core.OctetBitString)]


class Seal2014(core.Sequence):
    _fields = [("e_seal_info", SealInfo2014), ("sign_info", SignInfo2014)]


class TbsSign2020(core.Sequence):
    _fields = [("version", core.Integer), ("e_seal", Seal2020), ("time_info", core.GeneralizedTime),
               ("data_hash", core.OctetBitString), ("property_info", core.IA5String),
               ("ext_datas", ExtDatas, {"explicit": 0, "optional": True})]


class Signature2020(core.Sequence):
    _fields = [("to_sign", TbsSign2020), ("cert", core.OctetString),
               ("signature_alg_id", core.ObjectIdentifier), ("signature", core.OctetBitString),
               ("time_stamp", core.OctetBitString, {"explicit": 0, "optional": True})]


class TbsSign2014(core.Sequence):
    _fields = [("version", core.Integer), ("e_seal", Seal2014), ("time_info", core.OctetBitString),
               ("data_hash", core.OctetBitString), ("property_info", core.IA5String),
               ("cert", core.OctetString), ("signature_algorithm", core.ObjectIdentifier)]


class Signature2014(core.Sequence):
    _fields = [("to_sign", TbsSign2014), ("signature", core.OctetBitString)]


def load(path):
    data = open(path, "rb").read()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return data


def sm2_ok(cert_der, msg, sig_der):
    cert = x509.Certificate.load(cert_der)
    raw = bytes(cert.public_key["public_key"].native)
    if raw[0] != 4 or len(raw) != 65:
        return False
    pub_hex = raw[1:].hex()
    seq = core.Sequence.load(sig_der)
    r, s = seq[0].native, seq[1].native
    v = sm2.CryptSM2(private_key=None, public_key="00" * 64)
    v.public_key = pub_hex
    z_in = (len(UID) * 8).to_bytes(2, "big") + UID + bytes.fromhex(
        v.ecc_table["a"] + v.ecc_table["b"] + v.ecc_table["g"] + pub_hex)
    za = bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(z_in)))
    e = bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(za + msg)))
    return v.verify("%064x%064x" % (r, s), e)


def issued_by(cert_der, ca_der):
    cert = x509.Certificate.load(cert_der)
    return cert["signature_algorithm"]["algorithm"].dotted == SM3_WITH_SM2 and \
        sm2_ok(ca_der, cert["tbs_certificate"].dump(), cert["signature_value"].native)


def cert_window(cert_der):
    v = x509.Certificate.load(cert_der)["tbs_certificate"]["validity"]
    return v["not_before"].native.timestamp(), v["not_after"].native.timestamp()


class Fail(Exception):
    pass


def step(name, ok, detail=""):
    print(("PASS %s %s" if ok else "FAIL %s %s") % (name, detail))
    if not ok:
        raise Fail(name)


def parse_seal(der):
    els = core.Sequence.load(der)
    if len(els) == 2:
        seal = Seal2014.load(der)
        info, cert = seal["e_seal_info"], seal["sign_info"]["cert"].native
        alg, sig = seal["sign_info"]["signature_algorithm"].dotted, seal["sign_info"]["sign_data"].native
        certs = [c.native for c in info["property"]["cert_list"]]
    else:
        seal = Seal2020.load(der)
        info, cert = seal["e_seal_info"], seal["cert"].native
        alg, sig = seal["sign_alg_id"].dotted, seal["signed_value"].native
        if info["property"]["cert_list_type"].native != 1:
            raise Fail("cert_list_type")
        certs = [c.native for c in info["property"]["cert_list"]]
    info.native  # parse everything
    return seal, info, cert, alg, sig, certs


def check_seal(der, ca, at, maker=None):
    seal, info, maker_cert, alg, sig, certs = parse_seal(der)
    step("structure", info["header"]["id"].native == "ES", "header version %d" % info["header"]["version"].native)
    step("seal-signature", alg == SM3_WITH_SM2 and sm2_ok(maker_cert, info.dump(), sig))
    step("maker-certificate", issued_by(maker_cert, ca) and (maker is None or maker == maker_cert))
    p = info["property"]
    start, end = p["valid_start"].native.timestamp(), p["valid_end"].native.timestamp()
    step("seal-validity", start <= at <= end)
    return certs


def main(argv):
    kind, path = argv[1], argv[2]
    opts = dict(zip(argv[3::2], argv[4::2]))
    ca = load(opts["--ca"])
    maker = load(opts["--maker"]) if "--maker" in opts else None
    der = load(path)
    try:
        if kind == "seal":
            at = float(opts.get("--at", "0")) or None
            seal, info, *_ = parse_seal(der)
            if at is None:
                at = info["property"]["valid_start"].native.timestamp()
            check_seal(der, ca, at, maker)
        else:
            if len(core.Sequence.load(der)) == 2:
                s = Signature2014.load(der)
                tbs, signer = s["to_sign"], s["to_sign"]["cert"].native
                alg, sig = tbs["signature_algorithm"].dotted, s["signature"].native
                at = core.UTCTime.load(tbs["time_info"].native).native.timestamp()
            else:
                s = Signature2020.load(der)
                tbs, signer = s["to_sign"], s["cert"].native
                alg, sig = s["signature_alg_id"].dotted, s["signature"].native
                at = tbs["time_info"].native.timestamp()
            step("document-signature", alg == SM3_WITH_SM2 and sm2_ok(signer, tbs.dump(), sig)
                 and issued_by(signer, ca))
            nb, na = cert_window(signer)
            step("signer-certificate-validity", nb <= at <= na)
            certs = parse_seal(tbs["e_seal"].dump())[5]
            step("signer-in-cert-list", signer in certs)
            check_seal(tbs["e_seal"].dump(), ca, at, maker)
            if "--document" in opts:
                doc = open(opts["--document"], "rb").read()
                step("document-hash", bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(doc))) == tbs["data_hash"].native)
    except Fail:
        return 1
    except Exception as e:  # a structure that does not parse
        print("FAIL structure %r" % e)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

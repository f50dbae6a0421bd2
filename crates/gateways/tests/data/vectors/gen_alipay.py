"""Makes the Alipay notification test vectors with Alipay's own Python SDK
(`pip install alipay-sdk-python`): `get_sign_content` builds the string, `sign_with_rsa2`
signs it with the test "Alipay platform" key, exactly as Alipay signs an asynchronous
notification. Run from this directory: python3 gen_alipay.py
"""
import urllib.parse

from alipay.aop.api.util.SignatureUtils import get_sign_content, sign_with_rsa2, verify_with_rsa
from cryptography.hazmat.primitives import serialization

with open("../test_alipay_platform_key.pem", "rb") as f:
    key = serialization.load_pem_private_key(f.read(), password=None)
pkcs1 = key.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption(),
).decode()
body_b64 = "".join(l for l in pkcs1.splitlines() if not l.startswith("-----"))
with open("../test_alipay_platform_pub.pem") as f:
    pub_b64 = "".join(l for l in f.read().splitlines() if not l.startswith("-----"))

params = {
    "gmt_create": "2026-11-23 10:04:31",
    "charset": "utf-8",
    "seller_email": "pay@ca.example.cn",
    "subject": "数字证书 业务单",
    "buyer_id": "2088102177846880",
    "invoice_amount": "2400.00",
    "notify_id": "2026112300222100500046881459000001",
    "fund_bill_list": '[{"amount":"2400.00","fundChannel":"ALIPAYACCOUNT"}]',
    "notify_type": "trade_status_sync",
    "trade_status": "TRADE_SUCCESS",
    "receipt_amount": "2400.00",
    "app_id": "2021000000000001",
    "buyer_pay_amount": "2400.00",
    "seller_id": "2088000000000001",
    "gmt_payment": "2026-11-23 10:04:32",
    "notify_time": "2026-11-23 10:05:00",
    "passback_params": "",
    "version": "1.0",
    "out_trade_no": "XB20261123000001P0001",
    "total_amount": "2400.00",
    "trade_no": "2026112322001404000000000001",
    "auth_app_id": "2021000000000001",
    "body": "",
    "buyer_logon_id": "138****0000",
    "point_amount": "0.00",
}


def form(p, sign):
    pairs = list(p.items()) + [("sign_type", "RSA2"), ("sign", sign)]
    return "&".join(
        urllib.parse.quote(k, safe="") + "=" + urllib.parse.quote(v, safe="") for k, v in pairs
    )


# Genuine: signed over every parameter, empties kept (what Alipay signs).
content = get_sign_content(params)
assert "&body=&" in content and "&passback_params=&" in content
genuine = sign_with_rsa2(body_b64, content, "utf-8")
assert verify_with_rsa(pub_b64, content.encode(), genuine)
with open("alipay_notify_empty_values.form", "w") as f:
    f.write(form(params, genuine))
with open("alipay_notify_empty_values.content", "w") as f:
    f.write(content)

# Forged: signed over the string without the empty parameters (what a verifier that drops
# them would check); Alipay never signs that string for this notification.
dropped = get_sign_content({k: v for k, v in params.items() if v != ""})
forged = sign_with_rsa2(body_b64, dropped, "utf-8")
with open("alipay_notify_empties_dropped.form", "w") as f:
    f.write(form(params, forged))
print("ok")

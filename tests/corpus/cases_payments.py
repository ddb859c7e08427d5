"""Payment APIs and their device-data collectors: Alipay / Ant mPaaS, WeChat Pay and WeChat
login, UnionPay, Stripe, Braintree, Adyen, and bank-card binding."""

from __future__ import annotations

from tests.corpus.build import FORM, JSON, Case, b64, case, form, js, label

ALIPAY_GATEWAY = "https://openapi.alipay.com/gateway.do"
ALIPAY_SIGN = "ERITJKEIJKJHKKKKKKKHJEREEEEEEEEEEE"
CN_ID = "11010519491231002X"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
USER = "identifiers.user"


def _alipay(method: str, biz_content: object) -> str:
    return form(
        [
            ("app_id", "2021000000000000"),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("timestamp", "2023-11-15 08:00:00"),
            ("version", "1.0"),
            ("biz_content", js(biz_content)),
            ("sign", ALIPAY_SIGN),
        ]
    )


_BIZ = "body/form:biz_content/json:$"
_UP_CUSTOMER = "{phoneNo=13552535506|customerNm=张三|certifTp=01|certifId=341126197709218366}"

CASES: list[Case] = [
    case(
        "alipay-certify-initialize",
        "https://opendocs.alipay.com/open/02ahjy (alipay.user.certify.open.initialize: identity_param)",
        ALIPAY_GATEWAY,
        headers=FORM,
        body=_alipay(
            "alipay.user.certify.open.initialize",
            {
                "outer_order_no": "ZGYD201809132323000001234",
                "biz_code": "FACE",
                "identity_param": {
                    "identity_type": "CERT_INFO",
                    "cert_type": "IDENTITY_CARD",
                    "cert_name": "张三",
                    "cert_no": CN_ID,
                },
                "merchant_config": {"return_url": "https://www.example.com/return"},
            },
        ),
        labels=[
            label("contact.name", "张三", f"{_BIZ}.identity_param.cert_name"),
            label("government_id", CN_ID, f"{_BIZ}.identity_param.cert_no"),
        ],
    ),
    case(
        "alipay-fund-transfer",
        "https://opendocs.alipay.com/open/02byuo (alipay.fund.trans.uni.transfer: payee_info, remark)",
        ALIPAY_GATEWAY,
        headers=FORM,
        body=_alipay(
            "alipay.fund.trans.uni.transfer",
            {
                "out_biz_no": "201806300001",
                "trans_amount": "1500.00",
                "product_code": "TRANS_ACCOUNT_NO_PWD",
                "biz_scene": "DIRECT_TRANSFER",
                "order_title": "转账",
                "payee_info": {
                    "identity": "2088123412341234",
                    "identity_type": "ALIPAY_USER_ID",
                    "name": "李娜",
                },
                "remark": "房租 11月",
            },
        ),
        labels=[
            label(USER, "2088123412341234", f"{_BIZ}.payee_info.identity"),
            label("contact.name", "李娜", f"{_BIZ}.payee_info.name"),
            label("user_content", "房租 11月", f"{_BIZ}.remark"),
        ],
    ),
    case(
        "alipay-user-info-share-response",
        "https://opendocs.alipay.com/open/02xtlb (alipay.user.info.share response)",
        ALIPAY_GATEWAY,
        direction="response",
        headers=JSON,
        body=js(
            {
                "alipay_user_info_share_response": {
                    "code": "10000",
                    "msg": "Success",
                    "user_id": "2088102104794936",
                    "avatar": "http://tfsimg.alipay.com/images/partner/T1uIxXXbpXXXXXXXX",
                    "province": "安徽省",
                    "city": "安庆",
                    "nick_name": "支付宝小二",
                    "gender": "F",
                },
                "sign": ALIPAY_SIGN,
            }
        ),
        labels=[
            label(USER, "2088102104794936", "body/json:$.alipay_user_info_share_response.user_id"),
            label(USER, "支付宝小二", "body/json:$.alipay_user_info_share_response.nick_name"),
            label(
                "location.coarse", "安徽省", "body/json:$.alipay_user_info_share_response.province"
            ),
            label("location.coarse", "安庆", "body/json:$.alipay_user_info_share_response.city"),
        ],
    ),
    case(
        "mpaas-rpc-login",
        "https://help.aliyun.com/document_detail/49549.html (mPaaS mobile gateway RPC; apdid, utdid)",
        "https://mobilegw.alipay.com/mgw.htm",
        headers={**JSON, "Operation-Type": "alipay.client.login", "Platform": "ANDROID"},
        body=js(
            [
                {
                    "loginId": "13812345678",
                    "loginPwd": "e10adc3949ba59abbe56e057f20f883e",
                    "apdid": "eY0ZKH1lR2rDCcq0ALVkn4JTvGx0AgX2QkA0jEMnEJoGZgkAAAAA",
                    "utdid": "XwKZc2Hq3BADAKnVmQKfD1x0",
                    "productVersion": "10.5.30",
                }
            ]
        ),
        labels=[
            label("contact.phone", "13812345678", "body/json:$[0].loginId"),
            label(USER, "13812345678", "body/json:$[0].loginId"),
            label("credentials", "e10adc3949ba59abbe56e057f20f883e", "body/json:$[0].loginPwd"),
            label(
                "device_fingerprint",
                "eY0ZKH1lR2rDCcq0ALVkn4JTvGx0AgX2QkA0jEMnEJoGZgkAAAAA",
                "body/json:$[0].apdid",
            ),
            label("identifiers.device", "XwKZc2Hq3BADAKnVmQKfD1x0", "body/json:$[0].utdid"),
        ],
    ),
    case(
        "wechatpay-v3-jsapi-prepay",
        "https://pay.weixin.qq.com/docs/merchant/apis/jsapi-payment/direct-jsons/jsapi-prepay.html",
        "https://api.mch.weixin.qq.com/v3/pay/transactions/jsapi",
        headers={
            **JSON,
            "Authorization": 'WECHATPAY2-SHA256-RSA2048 mchid="1230000109",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",signature="uOVRnA4qG/MNnYzdQxJanN+zU+lTgIcnU9BxGw5dKjK+VdEUz2FeIoC+D5sB/LN+nGzX3hfZg6r5wT1pl2ZobmIc6p0ldN7J6yDgUzbX8Uk3sD4a4eZVPTBvqNDoUqcYMlZ9uuDdCvNv4TM3c1WzsXUrExwVkI1XO5jCNbgDJ25nkT/c1gIFvqoogl7MdSFGc4W4xZsqCItnqbypR3RuGIlR9h9vlRsy7zJR9PBI83X8alLDIfR1ukt1P7tMnmogZ0cuDY8cZsd8ZlCgLadmvej58SLsIkVxFJ8XmfhPs8/u9JzPPb+5dvwyKhi2JTP3GvUmmdUgSgoXMrC+aVJ+wA==",timestamp="1554208460",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"',
        },
        body=js(
            {
                "appid": "wxd678efh567hg6787",
                "mchid": "1230000109",
                "description": "Image形象店-深圳腾大-QQ公仔",
                "out_trade_no": "1217752501201407033233368018",
                "notify_url": "https://www.weixin.qq.com/wxpay/pay.php",
                "amount": {"total": 100, "currency": "CNY"},
                "payer": {"openid": OPENID},
                "scene_info": {"payer_client_ip": "14.23.150.211"},
            }
        ),
        labels=[
            label(USER, OPENID, "body/json:$.payer.openid"),
            label("network.ip", "14.23.150.211", "body/json:$.scene_info.payer_client_ip"),
        ],
    ),
    case(
        "wechatpay-v2-unifiedorder-xml",
        "https://pay.weixin.qq.com/wiki/doc/api/jsapi.php?chapter=9_1",
        "https://api.mch.weixin.qq.com/pay/unifiedorder",
        headers={"Content-Type": "text/xml"},
        body=(
            "<xml><appid>wx2421b1c4370ec43b</appid><attach>支付测试</attach>"
            "<body>JSAPI支付测试</body><mch_id>10000100</mch_id>"
            "<nonce_str>1add1a30ac87aa2db72f57a2375d8fec</nonce_str>"
            "<notify_url>https://wxpay.wxutil.com/pub_v2/pay/notify.v2.php</notify_url>"
            f"<openid>{OPENID}</openid><out_trade_no>1415659990</out_trade_no>"
            "<spbill_create_ip>14.23.150.211</spbill_create_ip><total_fee>1</total_fee>"
            "<trade_type>JSAPI</trade_type><sign>0CB01533B8C1EF103065174F50BCA001</sign></xml>"
        ),
        labels=[
            label(USER, OPENID, "body/xml:/xml/openid"),
            label("network.ip", "14.23.150.211", "body/xml:/xml/spbill_create_ip"),
        ],
    ),
    case(
        "wechat-sns-userinfo-request",
        "https://developers.weixin.qq.com/doc/oplatform/Mobile_App/WeChat_Login/Authorized_API_call_UnionID.html",
        f"https://api.weixin.qq.com/sns/userinfo?access_token=73_Yp8kQw4vXnZ2bLmR9sT1uV3xY5zA7cE&openid={OPENID}&lang=zh_CN",
        method="GET",
        labels=[
            label("credentials", "73_Yp8kQw4vXnZ2bLmR9sT1uV3xY5zA7cE", "url/query:access_token"),
            label(USER, OPENID, "url/query:openid"),
        ],
    ),
    case(
        "wechat-sns-userinfo-response",
        "https://developers.weixin.qq.com/doc/oplatform/Mobile_App/WeChat_Login/Authorized_API_call_UnionID.html",
        f"https://api.weixin.qq.com/sns/userinfo?access_token=73_Yp8kQw4vXnZ2bLmR9sT1uV3xY5zA7cE&openid={OPENID}",
        direction="response",
        headers=JSON,
        body=js(
            {
                "openid": OPENID,
                "nickname": "小蓝鲸",
                "sex": 1,
                "province": "广东",
                "city": "深圳",
                "country": "CN",
                "headimgurl": "https://thirdwx.qlogo.cn/mmopen/g3MonUZtNHkdmzicIlibx6iaFqAc56vxLSUfpb6n5WKSYVY0ChQKkiaJSgQ1dZuTOgvLLrhJbERQQ4eMsv84eavHiaiceqxibJxCfHe/46",
                "privilege": [],
                "unionid": "o6_bmasdasdsad6_2sgVt7hMZOPfL",
            }
        ),
        labels=[
            label(USER, OPENID, "body/json:$.openid"),
            label(USER, "o6_bmasdasdsad6_2sgVt7hMZOPfL", "body/json:$.unionid"),
            label(USER, "小蓝鲸", "body/json:$.nickname"),
            label("location.coarse", "深圳", "body/json:$.city"),
            label("location.coarse", "广东", "body/json:$.province"),
        ],
    ),
    case(
        "unionpay-front-trans",
        "https://open.unionpay.com/tjweb/acproduct/APIList?apiservId=448&acpAPIId=754&bussType=0 "
        "(accNo, customerInfo base64 of {phoneNo=...|certifId=...})",
        "https://gateway.95516.com/gateway/api/frontTransReq.do",
        headers=FORM,
        body=form(
            [
                ("version", "5.1.0"),
                ("encoding", "UTF-8"),
                ("txnType", "01"),
                ("txnSubType", "01"),
                ("bizType", "000201"),
                ("signMethod", "01"),
                ("channelType", "08"),
                ("accessType", "0"),
                ("merId", "777290058110048"),
                ("orderId", "20231115080000123"),
                ("txnTime", "20231115080000"),
                ("txnAmt", "1000"),
                ("currencyCode", "156"),
                ("accNo", "6216261000000000018"),
                ("customerInfo", b64(_UP_CUSTOMER)),
                ("certId", "68759663125"),
                ("signature", "GnHOm2vlAJ7k2ZhR6f0E4sKc5XnM4HcX0pJ4eH3h7Rk="),
            ]
        ),
        labels=[
            label("financial.card", "6216261000000000018", "body/form:accNo"),
            label(
                "contact.phone", "13552535506", "body/form:customerInfo/base64/text/pairs:phoneNo"
            ),
            label("contact.name", "张三", "body/form:customerInfo/base64/text/pairs:customerNm"),
            label(
                "government_id",
                "341126197709218366",
                "body/form:customerInfo/base64/text/pairs:certifId",
            ),
        ],
    ),
    case(
        "stripe-payment-method",
        "https://docs.stripe.com/api/payment_methods/create",
        "https://api.stripe.com/v1/payment_methods",
        headers={**FORM, "Authorization": "Bearer pk_test_TYooMQauvdEDq54NiTphI7jx"},
        body=form(
            [
                ("type", "card"),
                ("card[number]", "4242424242424242"),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2034"),
                ("card[cvc]", "123"),
                ("billing_details[name]", "Jenny Rosen"),
                ("billing_details[email]", "jenny.rosen@example.com"),
                ("billing_details[address][line1]", "510 Townsend St"),
                ("billing_details[address][city]", "San Francisco"),
                ("billing_details[address][postal_code]", "94103"),
                ("billing_details[address][country]", "US"),
                ("muid", "c2a5b0e4-8f1d-4c3b-9a7e-6d5f4e3c2b1a"),
                ("guid", "7e6d5c4b-3a29-4817-b6f5-e4d3c2b1a098"),
                ("payment_user_agent", "stripe-android/20.25.0"),
            ]
        ),
        labels=[
            label("financial.card", "4242424242424242", "body/form:card[number]"),
            label("financial.card", "123", "body/form:card[cvc]"),
            label("contact.name", "Jenny Rosen", "body/form:billing_details[name]"),
            label("contact.email", "jenny.rosen@example.com", "body/form:billing_details[email]"),
            label(
                "contact.address", "510 Townsend St", "body/form:billing_details[address][line1]"
            ),
            label("identifiers.device", "c2a5b0e4-8f1d-4c3b-9a7e-6d5f4e3c2b1a", "body/form:muid"),
            label("identifiers.device", "7e6d5c4b-3a29-4817-b6f5-e4d3c2b1a098", "body/form:guid"),
        ],
    ),
    case(
        "stripe-connect-individual",
        "https://docs.stripe.com/api/accounts/create (individual, external_account)",
        "https://api.stripe.com/v1/accounts",
        headers=FORM,
        body=form(
            [
                ("type", "custom"),
                ("country", "US"),
                ("individual[first_name]", "Jenny"),
                ("individual[last_name]", "Rosen"),
                ("individual[id_number]", "078051120"),
                ("individual[ssn_last_4]", "1120"),
                ("individual[phone]", "+14155550100"),
                ("individual[email]", "jenny.rosen@example.com"),
                ("individual[address][line1]", "510 Townsend St"),
                ("individual[address][postal_code]", "94103"),
                ("external_account[object]", "bank_account"),
                ("external_account[account_number]", "000123456789"),
                ("external_account[routing_number]", "110000000"),
                ("external_account[country]", "US"),
            ]
        ),
        labels=[
            label("contact.name", "Jenny", "body/form:individual[first_name]"),
            label("contact.name", "Rosen", "body/form:individual[last_name]"),
            label("government_id", "1120", "body/form:individual[ssn_last_4]"),
            label("government_id", "078051120", "body/form:individual[id_number]"),
            label("contact.phone", "+14155550100", "body/form:individual[phone]"),
            label("contact.email", "jenny.rosen@example.com", "body/form:individual[email]"),
            label("contact.address", "510 Townsend St", "body/form:individual[address][line1]"),
            label(
                "financial.bank_account",
                "000123456789",
                "body/form:external_account[account_number]",
            ),
            label(
                "financial.bank_account", "110000000", "body/form:external_account[routing_number]"
            ),
        ],
    ),
    case(
        "stripe-bank-account-token",
        "https://docs.stripe.com/api/tokens/create_bank_account",
        "https://api.stripe.com/v1/tokens",
        headers=FORM,
        body=form(
            [
                ("bank_account[country]", "US"),
                ("bank_account[currency]", "usd"),
                ("bank_account[account_holder_name]", "Jenny Rosen"),
                ("bank_account[account_holder_type]", "individual"),
                ("bank_account[routing_number]", "110000000"),
                ("bank_account[account_number]", "000123456789"),
            ]
        ),
        labels=[
            label("contact.name", "Jenny Rosen", "body/form:bank_account[account_holder_name]"),
            label(
                "financial.bank_account", "000123456789", "body/form:bank_account[account_number]"
            ),
            label("financial.bank_account", "110000000", "body/form:bank_account[routing_number]"),
        ],
    ),
    case(
        "braintree-tokenize-card",
        "https://graphql.braintreepayments.com/reference/#Mutation--tokenizeCreditCard",
        "https://payments.braintree-api.com/graphql",
        headers={**JSON, "Braintree-Version": "2016-10-07"},
        body=js(
            {
                "clientSdkMetadata": {
                    "source": "client",
                    "integration": "custom",
                    "sessionId": "1b3f5a7c-9e2d-4f6a-8c0e-2b4d6f8a0c1e",
                },
                "query": "mutation TokenizeCreditCard($input: TokenizeCreditCardInput!) { tokenizeCreditCard(input: $input) { token creditCard { bin brandCode last4 } } }",
                "variables": {
                    "input": {
                        "creditCard": {
                            "number": "4111111111111111",
                            "expirationMonth": "12",
                            "expirationYear": "2030",
                            "cvv": "123",
                            "cardholderName": "Jane Doe",
                            "billingAddress": {
                                "postalCode": "60606",
                                "streetAddress": "123 Division St",
                            },
                        },
                        "options": {"validate": False},
                    }
                },
                "operationName": "TokenizeCreditCard",
            }
        ),
        labels=[
            label(
                "financial.card",
                "4111111111111111",
                "body/json:$.variables.input.creditCard.number",
            ),
            label("financial.card", "123", "body/json:$.variables.input.creditCard.cvv"),
            label(
                "contact.name", "Jane Doe", "body/json:$.variables.input.creditCard.cardholderName"
            ),
            label(
                "contact.address",
                "123 Division St",
                "body/json:$.variables.input.creditCard.billingAddress.streetAddress",
            ),
        ],
    ),
    case(
        "braintree-device-data",
        "https://developer.paypal.com/braintree/docs/guides/premium-fraud-management-tools/device-data-collection/android/v4",
        "https://api.example-wallet.com/v1/checkout",
        headers=JSON,
        body=js(
            {
                "payment_method_nonce": "tokencc_bc_string_here_7v8n2x",
                "amount": "10.00",
                "device_data": js(
                    {
                        "correlation_id": "3c2f0e1b8a7d4e6f9a0b1c2d3e4f5a6b",
                        "device_session_id": "7f1c9d2e4b6a8c0e1f3a5b7c9d1e3f5a",
                        "fraud_merchant_id": "600000",
                    }
                ),
            }
        ),
        labels=[
            label(
                "device_fingerprint",
                "7f1c9d2e4b6a8c0e1f3a5b7c9d1e3f5a",
                "body/json:$.device_data/json:$.device_session_id",
            )
        ],
    ),
    case(
        "adyen-payments",
        "https://docs.adyen.com/api-explorer/Checkout/71/post/payments",
        "https://checkout-test.adyen.com/v71/payments",
        headers={
            **JSON,
            "x-API-key": "AQEyhmfxKI3LbhRBw0m/n3Q5qf3VaY9UCJ1+XWZe9W27jmlZiniYHPZ+YtXG9dYfNdwN0H8QwV1bDb7kfNy1WIxIIkxgBw==-uA2G",
        },
        body=js(
            {
                "amount": {"currency": "EUR", "value": 1000},
                "reference": "ORDER-1001",
                "paymentMethod": {
                    "type": "scheme",
                    "encryptedCardNumber": "adyenjs_0_1_25$XDl8NvOfd1Kxmi1k4fGg5Yxk",
                    "encryptedExpiryMonth": "adyenjs_0_1_25$Q2gBhR1gNvq7eTmqkjzv",
                    "encryptedSecurityCode": "adyenjs_0_1_25$Wb8T3xLh2pfVkq9Rmo1s",
                    "holderName": "S. Hopper",
                },
                "shopperEmail": "s.hopper@example.com",
                "shopperIP": "192.0.2.1",
                "shopperReference": "YOUR_UNIQUE_SHOPPER_ID_IOfW3k9G2PvXFu2j",
                "telephoneNumber": "+31 20 794 9283",
                "shopperName": {"firstName": "Simon", "lastName": "Hopper"},
                "billingAddress": {
                    "street": "Infinite Loop",
                    "houseNumberOrName": "1",
                    "postalCode": "95014",
                    "city": "Cupertino",
                    "country": "US",
                },
                "deviceFingerprint": "1B2M2Y8AsgTpgAmY7PhCfg0000FqD8AALQ31wWe3xdAiVyAFDmKf6zwdGrVh8nBBWJKgNKJ4tpTe",
                "riskData": {
                    "clientData": b64(
                        js(
                            {
                                "version": "1.0.0",
                                "deviceFingerprint": "DpqwU4zEdN0050000000000000KZbIQj6kzs0089146776cVB94iKzBGbAsyFHOoa2Ge3Ra0VOK",
                            }
                        )
                    )
                },
                "merchantAccount": "YOUR_MERCHANT_ACCOUNT",
                "returnUrl": "https://your-company.com/checkout?shopperOrder=12xy",
            }
        ),
        labels=[
            label("contact.name", "S. Hopper", "body/json:$.paymentMethod.holderName"),
            label("contact.name", "Simon", "body/json:$.shopperName.firstName"),
            label("contact.email", "s.hopper@example.com", "body/json:$.shopperEmail"),
            label("network.ip", "192.0.2.1", "body/json:$.shopperIP"),
            label(USER, "YOUR_UNIQUE_SHOPPER_ID_IOfW3k9G2PvXFu2j", "body/json:$.shopperReference"),
            label("contact.phone", "+31 20 794 9283", "body/json:$.telephoneNumber"),
            label("contact.address", "Infinite Loop", "body/json:$.billingAddress.street"),
            label(
                "device_fingerprint",
                "1B2M2Y8AsgTpgAmY7PhCfg0000FqD8AALQ31wWe3xdAiVyAFDmKf6zwdGrVh8nBBWJKgNKJ4tpTe",
                "body/json:$.deviceFingerprint",
            ),
            label("device_fingerprint", "riskData.clientData", "body/json:$.riskData.clientData"),
            label(
                "device_fingerprint",
                "DpqwU4zEdN0050000000000000KZbIQj6kzs0089146776cVB94iKzBGbAsyFHOoa2Ge3Ra0VOK",
                "body/json:$.riskData.clientData/base64/json:$.deviceFingerprint",
            ),
        ],
    ),
    case(
        "adyen-sepa",
        "https://docs.adyen.com/payment-methods/sepa-direct-debit/api-only",
        "https://checkout-test.adyen.com/v71/payments",
        headers=JSON,
        body=js(
            {
                "amount": {"currency": "EUR", "value": 1000},
                "reference": "ORDER-1002",
                "paymentMethod": {
                    "type": "sepadirectdebit",
                    "sepa.ownerName": "A. Schneider",
                    "sepa.ibanNumber": "DE89370400440532013000",
                },
                "merchantAccount": "YOUR_MERCHANT_ACCOUNT",
            }
        ),
        labels=[
            label("contact.name", "A. Schneider", 'body/json:$.paymentMethod["sepa.ownerName"]'),
            label(
                "financial.bank_account",
                "DE89370400440532013000",
                'body/json:$.paymentMethod["sepa.ibanNumber"]',
            ),
        ],
    ),
    case(
        "bank-card-binding",
        "https://opendocs.alipay.com/open/02ivbs (bank card binding: card number, holder, reserved mobile)",
        "https://api.example-wallet.cn/v1/bankcard/bind",
        headers=JSON,
        body=js(
            {
                "bank_card_no": "6217000010012345677",
                "bank_name": "建设银行",
                "card_holder": "王芳",
                "reserved_mobile": "13912345678",
                "id_no": "440306199003071232",
                "sms_code": "482913",
            }
        ),
        labels=[
            label("financial.card", "6217000010012345677", "body/json:$.bank_card_no"),
            label("contact.name", "王芳", "body/json:$.card_holder"),
            label("contact.phone", "13912345678", "body/json:$.reserved_mobile"),
            label("government_id", "440306199003071232", "body/json:$.id_no"),
            label("credentials", "482913", "body/json:$.sms_code"),
        ],
    ),
    case(
        "wallet-balance-response",
        "https://opendocs.alipay.com/open/02byvc (alipay.fund.account.query: available_amount)",
        ALIPAY_GATEWAY,
        direction="response",
        headers=JSON,
        body=js(
            {
                "alipay_fund_account_query_response": {
                    "code": "10000",
                    "msg": "Success",
                    "available_amount": "1024.50",
                    "freeze_amount": "0.00",
                },
                "sign": ALIPAY_SIGN,
            }
        ),
        labels=[
            label(
                "financial.other",
                "1024.50",
                "body/json:$.alipay_fund_account_query_response.available_amount",
            ),
            label(
                "financial.other",
                "0.00",
                "body/json:$.alipay_fund_account_query_response.freeze_amount",
            ),
        ],
    ),
    case(
        "loan-application",
        "https://cloud.tencent.com/document/product/1007/31816 (IdCard, Name) with credit-app fields",
        "https://api.example-wallet.cn/v1/loan/apply",
        headers=JSON,
        body=js(
            {
                "real_name": "王芳",
                "id_card": "310101198512154021",
                "mobile": "13912345678",
                "monthly_income": "25000",
                "employer": "Example Ltd",
                "loan_amount": "50000",
                "zm_score": "712",
                "emergency_contact": {"name": "张伟", "relation": "friend", "phone": "13900001111"},
            }
        ),
        labels=[
            label("contact.name", "王芳", "body/json:$.real_name"),
            label("contact.name", "张伟", "body/json:$.emergency_contact.name"),
            label("government_id", "310101198512154021", "body/json:$.id_card"),
            label("contact.phone", "13912345678", "body/json:$.mobile"),
            label("contact.phone", "13900001111", "body/json:$.emergency_contact.phone"),
            label("financial.other", "25000", "body/json:$.monthly_income"),
            label("financial.other", "712", "body/json:$.zm_score"),
            label("financial.other", "50000", "body/json:$.loan_amount"),
        ],
    ),
    case(
        "tencent-faceid-idcard",
        "https://cloud.tencent.com/document/product/1007/33188 (IdCardVerification: IdCard, Name)",
        "https://faceid.tencentcloudapi.com/",
        headers={**JSON, "X-TC-Action": "IdCardVerification", "X-TC-Version": "2018-03-01"},
        body=js({"IdCard": "510107199206183019", "Name": "李娜"}),
        labels=[
            label("government_id", "510107199206183019", "body/json:$.IdCard"),
            label("contact.name", "李娜", "body/json:$.Name"),
        ],
    ),
]

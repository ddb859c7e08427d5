"""Negatives: real-format messages with no personal data, full of lookalikes (timestamps,
order and trade numbers, nonces, signatures, digests of nothing, build and version numbers,
UUID request IDs, prices, coordinates of 0,0, map tiles, app and SDK keys)."""

from __future__ import annotations

from tests.corpus.build import FORM, JSON, Case, b64, case, form, gzip_b64, js, pb

ALIPAY = "https://openapi.alipay.com/gateway.do"
SIGN = (
    "mXJl1OVd+NwQ3E9dGrHoRBR/nwgEp3CxGMvdl4OOr9iFOTJxEgTDpWn1PxFGtR8SnN4vjIb0pK6Qx7EfS4Rx0E0Ez2pU"
    "8lSugvO0mLrB3NXXJuWxk3Ihg2jT9yXL4TaRhMzpPcVxW3IV1bsFqqJg4OvyOWXwSpSgsGzHXxq6XOs="
)

CASES: list[Case] = [
    case(
        "neg-alipay-trade-app-pay",
        "https://opendocs.alipay.com/open/02e7gq (alipay.trade.app.pay request)",
        ALIPAY,
        headers=FORM,
        body=form(
            [
                ("app_id", "2021000117650139"),
                ("method", "alipay.trade.app.pay"),
                ("format", "JSON"),
                ("charset", "utf-8"),
                ("sign_type", "RSA2"),
                ("timestamp", "2023-11-15 08:00:00"),
                ("version", "1.0"),
                ("notify_url", "https://api.example-wallet.cn/notify/alipay"),
                (
                    "biz_content",
                    js(
                        {
                            "out_trade_no": "70501111111S001111119",
                            "total_amount": "88.88",
                            "subject": "Iphone6 16G",
                            "product_code": "QUICK_MSECURITY_PAY",
                            "timeout_express": "30m",
                        }
                    ),
                ),
                ("sign", SIGN),
            ]
        ),
    ),
    case(
        "neg-alipay-trade-query",
        "https://opendocs.alipay.com/open/02e7gm (alipay.trade.query)",
        ALIPAY,
        headers=FORM,
        body=form(
            [
                ("app_id", "2021000117650139"),
                ("method", "alipay.trade.query"),
                ("charset", "utf-8"),
                ("sign_type", "RSA2"),
                ("timestamp", "2023-11-15 08:05:00"),
                ("version", "1.0"),
                (
                    "biz_content",
                    js(
                        {
                            "out_trade_no": "20150320010101001",
                            "trade_no": "2014112611001004680073956707",
                        }
                    ),
                ),
                ("sign", SIGN),
            ]
        ),
    ),
    case(
        "neg-alipay-trade-query-response",
        "https://opendocs.alipay.com/open/02e7gm (response: masked buyer_logon_id)",
        ALIPAY,
        direction="response",
        headers=JSON,
        body=js(
            {
                "alipay_trade_query_response": {
                    "code": "10000",
                    "msg": "Success",
                    "trade_no": "2013112011001004330000121536",
                    "out_trade_no": "6823789339978248",
                    "buyer_logon_id": "159****5620",
                    "trade_status": "TRADE_SUCCESS",
                    "total_amount": "88.88",
                    "send_pay_date": "2014-11-27 15:45:57",
                },
                "sign": SIGN,
            }
        ),
    ),
    case(
        "neg-wechatpay-notify-ack",
        "https://pay.weixin.qq.com/docs/merchant/apis/jsapi-payment/payment-notice.html (ack)",
        "https://api.example-wallet.cn/notify/wechatpay",
        direction="response",
        headers=JSON,
        body=js({"code": "SUCCESS", "message": "成功"}),
    ),
    case(
        "neg-wechatpay-v2-order-query",
        "https://pay.weixin.qq.com/wiki/doc/api/jsapi.php?chapter=9_2",
        "https://api.mch.weixin.qq.com/pay/orderquery",
        headers={"Content-Type": "text/xml"},
        body=(
            "<xml><appid>wx2421b1c4370ec43b</appid><mch_id>10000100</mch_id>"
            "<nonce_str>ec2316275641faa3aacf3cc599e8730f</nonce_str>"
            "<transaction_id>1008450740201411110005820873</transaction_id>"
            "<sign>FDD167FAA73459FD921B144BAF4F4CA2</sign></xml>"
        ),
    ),
    case(
        "neg-wechatpay-v3-prepay-response",
        "https://pay.weixin.qq.com/docs/merchant/apis/jsapi-payment/direct-jsons/jsapi-prepay.html",
        "https://api.mch.weixin.qq.com/v3/pay/transactions/jsapi",
        direction="response",
        headers={**JSON, "Request-ID": "08F78BB5AF0610D302A1B6BF2C98F9020000"},
        body=js({"prepay_id": "wx26112221580621e9b071c00d9e093b0000"}),
    ),
    case(
        "neg-unionpay-query",
        "https://open.unionpay.com/tjweb/acproduct/APIList?apiservId=448&acpAPIId=757&bussType=0",
        "https://gateway.95516.com/gateway/api/queryTrans.do",
        headers=FORM,
        body=form(
            [
                ("version", "5.1.0"),
                ("encoding", "UTF-8"),
                ("txnType", "00"),
                ("txnSubType", "00"),
                ("bizType", "000000"),
                ("signMethod", "01"),
                ("accessType", "0"),
                ("channelType", "07"),
                ("merId", "777290058110048"),
                ("orderId", "20231115080000123"),
                ("txnTime", "20231115080000"),
                ("certId", "68759663125"),
                ("signature", "GnHOm2vlAJ7k2ZhR6f0E4sKc5XnM4HcX0pJ4eH3h7Rk="),
            ]
        ),
    ),
    case(
        "neg-stripe-confirm-intent",
        "https://docs.stripe.com/api/payment_intents/confirm",
        "https://api.stripe.com/v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa/confirm",
        headers={
            **FORM,
            "Idempotency-Key": "5c8f1a2e-3b4d-4f6a-8c9e-0b1d2f3a4c5e",
            "Authorization": "Bearer pk_test_TYooMQauvdEDq54NiTphI7jx",
        },
        body=form(
            [
                ("payment_method", "pm_card_visa"),
                ("return_url", "stripesdk://payment_return_url/com.example.wallet"),
                ("client_secret", "pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH"),
            ]
        ),
    ),
    case(
        "neg-adyen-payment-methods",
        "https://docs.adyen.com/api-explorer/Checkout/71/post/paymentMethods",
        "https://checkout-test.adyen.com/v71/paymentMethods",
        headers=JSON,
        body=js(
            {
                "merchantAccount": "YOUR_MERCHANT_ACCOUNT",
                "countryCode": "NL",
                "amount": {"currency": "EUR", "value": 1000},
                "channel": "Android",
                "shopperLocale": "nl-NL",
            }
        ),
    ),
    case(
        "neg-app-update-check",
        "https://developer.huawei.com/consumer/en/doc/development/AppGallery-connect-Guides/appgallerykit-checkupdate (version check)",
        "https://api.example-wallet.cn/v1/app/update?platform=android&versionCode=320&channel=huawei",
        method="GET",
        direction="response",
        headers=JSON,
        body=js(
            {
                "versionCode": 321,
                "versionName": "3.2.1",
                "build": "20231115.1",
                "minSdk": 24,
                "size": 58213442,
                "md5": "d41d8cd98f00b204e9800998ecf8427e",
                "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "url": "https://cdn.example-wallet.cn/apk/wallet-3.2.1.apk",
                "releaseNotes": "修复已知问题",
                "force": False,
            }
        ),
    ),
    case(
        "neg-remote-config",
        "https://firebase.google.com/docs/remote-config/rest-reference (template parameters)",
        "https://api.example-wallet.cn/v1/config",
        direction="response",
        headers={**JSON, "ETag": 'W/"5e1d-1700000000000"'},
        body=js(
            {
                "version": "1700000000123",
                "parameters": {
                    "home_banner_enabled": {"defaultValue": {"value": "true"}},
                    "max_transfer_amount": {"defaultValue": {"value": "50000"}},
                    "feature_rollout_percent": {"defaultValue": {"value": "25"}},
                    "support_hotline": {"defaultValue": {"value": "95188"}},
                },
                "etag": "etag-1234567890-42",
            }
        ),
    ),
    case(
        "neg-exchange-rates",
        "https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/ (rates)",
        "https://api.example-wallet.com/v1/fx/rates?base=EUR",
        method="GET",
        direction="response",
        headers=JSON,
        body=js(
            {
                "base": "EUR",
                "date": "2023-11-15",
                "timestamp": 1700006400,
                "rates": {
                    "USD": 1.0868,
                    "CNY": 7.8921,
                    "HKD": 8.4851,
                    "JPY": 164.37,
                    "GBP": 0.87268,
                },
            }
        ),
    ),
    case(
        "neg-price-list",
        "https://docs.stripe.com/api/prices/list (price objects)",
        "https://api.example-wallet.com/v1/products",
        direction="response",
        headers=JSON,
        body=js(
            {
                "items": [
                    {
                        "sku": "SKU-10023",
                        "name": "Premium plan",
                        "price": "9.99",
                        "currency": "USD",
                        "stock": 120,
                    },
                    {
                        "sku": "SKU-10024",
                        "name": "Family plan",
                        "price": "14.99",
                        "currency": "USD",
                        "stock": 45,
                    },
                    {
                        "sku": "SKU-10025",
                        "name": "Gift card 50",
                        "price": "50.00",
                        "currency": "USD",
                        "stock": 999,
                    },
                ],
                "next_cursor": "eyJvZmZzZXQiOjN9",
            }
        ),
    ),
    case(
        "neg-zero-coordinates",
        "https://developer.android.com/reference/android/location/Location (getLatitude when no fix)",
        "https://api.example-wallet.cn/v1/stores/nearby",
        headers=JSON,
        body=js({"lat": 0.0, "lng": 0.0, "radius": 3000, "page": 1, "ts": 1700000000000}),
    ),
    case(
        "neg-map-tile",
        "https://developers.google.com/maps/documentation/tile/roadmap (z/x/y tiles)",
        "https://webrd01.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x=13489&y=6208&z=14",
        method="GET",
    ),
    case(
        "neg-sentry-breadcrumbs",
        "https://develop.sentry.dev/sdk/data-model/event-payloads/ (event without user)",
        "https://o0.ingest.sentry.io/api/4504/store/",
        headers=JSON,
        body=js(
            {
                "event_id": "9ec79c33ec9942ab8353589fcb2e04dc",
                "timestamp": "2023-11-15T08:00:00Z",
                "level": "error",
                "platform": "java",
                "release": "com.example.wallet@3.2.0+320",
                "dist": "320",
                "contexts": {
                    "os": {"name": "Android", "version": "12", "build": "SP1A.210812.016"},
                    "app": {"app_version": "3.2.0", "app_build": "320"},
                },
                "exception": {
                    "values": [
                        {"type": "SocketTimeoutException", "value": "timeout after 15000 ms"}
                    ]
                },
                "breadcrumbs": [
                    {
                        "timestamp": 1700000000.123,
                        "category": "http",
                        "data": {
                            "url": "https://api.example-wallet.cn/v1/bills",
                            "status_code": 504,
                        },
                    }
                ],
            }
        ),
    ),
    case(
        "neg-jpush-server-response",
        "https://docs.jiguang.cn/jpush/server/push/rest_api_v3_push (response)",
        "https://api.jpush.cn/v3/push",
        direction="response",
        headers=JSON,
        body=js({"sendno": "0", "msg_id": "54043196443812345"}),
    ),
    case(
        "neg-getui-push-response",
        "https://docs.getui.com/getui/server/rest_v2/push/ (response)",
        "https://restapi.getui.com/v2/appid123/push/single/cid",
        direction="response",
        headers=JSON,
        body=js(
            {
                "code": 0,
                "msg": "success",
                "data": {"RASS_0421_8a7f3c9e1b2d4f6a": {"$cid": "successed_online"}},
            }
        ),
    ),
    case(
        "neg-appsflyer-conversion-response",
        "https://dev.appsflyer.com/hc/reference/get-conversion-data (organic install)",
        "https://gcdsdk.appsflyer.com/install_data/v4.0/com.example.wallet",
        direction="response",
        headers=JSON,
        body=js(
            {
                "af_status": "Organic",
                "af_message": "organic install",
                "is_first_launch": True,
                "install_time": "2023-11-15 08:00:00.000",
            }
        ),
    ),
    case(
        "neg-umeng-config",
        "https://developer.umeng.com/docs/119267/detail/118588 (online configuration)",
        "https://ucc.umeng.com/v1/config",
        direction="response",
        headers=JSON,
        body=js(
            {
                "code": 200,
                "version": "1700000000",
                "config": {"report_interval": "90", "batch_size": "50", "enable_crash": "1"},
                "sdk_ver": "9.6.1",
            }
        ),
    ),
    case(
        "neg-health-check",
        "https://datatracker.ietf.org/doc/html/draft-inadarei-api-health-check (health response)",
        "https://api.example-wallet.cn/healthz",
        direction="response",
        headers={"Content-Type": "application/health+json"},
        body=js(
            {
                "status": "pass",
                "version": "1",
                "releaseId": "3.2.0-320",
                "checks": {
                    "db:responseTime": [
                        {"componentId": "db-1", "observedValue": 12, "observedUnit": "ms"}
                    ]
                },
            }
        ),
    ),
    case(
        "neg-graphql-catalog",
        "https://graphql.org/learn/serving-over-http/ (POST query with variables)",
        "https://api.example-wallet.com/graphql",
        headers={
            **JSON,
            "X-Request-Id": "38400000-8cf0-11bd-b23e-10b96e40000d",
            "X-Trace-Id": "4bf92f3577b34da6a3ce929d0e0e4736",
        },
        body=js(
            {
                "query": "query Merchants($city: ID!, $first: Int) { merchants(cityId: $city, first: $first) { id name } }",
                "variables": {"first": 20, "cursor": "YXJyYXljb25uZWN0aW9uOjE5"},
                "operationName": "Merchants",
            }
        ),
    ),
    case(
        "neg-signed-request",
        "https://opendocs.alipay.com/common/02kf5q (request signing: timestamp, nonce, sign)",
        "https://api.example-wallet.cn/v1/coupons?page=1&size=20&ts=1700000000123&nonce=8f14e45fceea167a5a36dedd4bea2543&sign=9b74c9897bac770ffc029102a200c5de",
        method="GET",
        headers={
            "X-Request-Id": "d290f1ee-6c54-4b01-90e6-d701748f0851",
            "X-App-Version": "3.2.0 (320)",
        },
    ),
    case(
        "neg-static-assets",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Caching (conditional GET of an asset)",
        "https://cdn.example-wallet.cn/static/js/app.8f14e45f.js?v=20231115",
        method="GET",
        headers={
            "If-None-Match": '"8f14e45fceea167a5a36dedd4bea2543"',
            "Referer": "https://m.example-wallet.cn/home",
        },
    ),
    case(
        "neg-bill-list",
        "https://opendocs.alipay.com/open/028woc (bill query: order numbers, amounts, times)",
        "https://api.example-wallet.cn/v1/bills",
        direction="response",
        headers=JSON,
        body=js(
            {
                "bills": [
                    {
                        "bill_no": "2023111522001412345678901234",
                        "amount": "-35.50",
                        "category": "餐饮",
                        "merchant": "星巴克",
                        "created_at": "2023-11-15 08:12:00",
                    },
                    {
                        "bill_no": "2023111422001498765432109876",
                        "amount": "-128.00",
                        "category": "购物",
                        "merchant": "京东商城",
                        "created_at": "2023-11-14 20:40:12",
                    },
                ],
                "total": 2,
                "page": 1,
            }
        ),
    ),
    case(
        "neg-gzip-telemetry-counters",
        "https://opentelemetry.io/docs/specs/otlp/ (metrics export, counters only)",
        "https://otel.example-wallet.cn/v1/metrics",
        headers=FORM,
        body=form(
            {
                "gzip": "1",
                "data": gzip_b64(
                    js(
                        {
                            "resource": {
                                "service.name": "wallet-android",
                                "service.version": "3.2.0",
                            },
                            "metrics": [
                                {
                                    "name": "http.client.duration",
                                    "unit": "ms",
                                    "sum": 15234,
                                    "count": 87,
                                    "min": 12,
                                    "max": 2044,
                                }
                            ],
                        }
                    )
                ),
            }
        ),
    ),
    case(
        "neg-protobuf-heartbeat",
        "https://protobuf.dev/programming-guides/encoding/ (a keep-alive with sequence and time)",
        "https://push.example-wallet.cn/hb",
        headers={"Content-Type": "application/x-protobuf"},
        body=pb((1, 42), (2, 1700000000123), (3, "3.2.0"), (4, 1)),
    ),
    case(
        "neg-base64-config-blob",
        "https://developer.android.com/guide/topics/resources/providing-resources (encoded feature flags)",
        "https://api.example-wallet.cn/v1/flags",
        direction="response",
        headers=JSON,
        body=js(
            {
                "flags": b64(
                    js(
                        {
                            "dark_mode": True,
                            "new_checkout": False,
                            "rollout": 0.25,
                            "experiment": "exp_2023_11_checkout_v2",
                        }
                    )
                ),
                "expires_in": 3600,
            }
        ),
    ),
    case(
        "neg-ad-limited-tracking",
        "https://support.google.com/googleplay/android-developer/answer/6048248 (zeroed advertising ID when opted out)",
        "https://app.adjust.com/event",
        headers=FORM,
        body=form(
            [
                ("app_token", "abc123def456"),
                ("event_token", "f2e728"),
                ("gps_adid", "00000000-0000-0000-0000-000000000000"),
                ("tracking_enabled", "0"),
                ("created_at", "2023-11-15T08:00:00.000Z+0000"),
                ("event_count", "12"),
            ]
        ),
    ),
    case(
        "neg-placeholder-identifiers",
        "https://developer.android.com/about/versions/marshmallow/android-6.0-changes#behavior-hardware-id (02:00:00:00:00:00)",
        "https://stats.jpush.cn/v3/report",
        headers=JSON,
        body=js(
            {
                "mac": "02:00:00:00:00:00",
                "imei": "",
                "android_id": "unknown",
                "imsi": "null",
                "idfa": "00000000-0000-0000-0000-000000000000",
                "wifi_ssid": "<unknown ssid>",
                "phone": "",
                "sdk_ver": "5.2.0",
            }
        ),
    ),
    case(
        "neg-order-create",
        "https://pay.weixin.qq.com/docs/merchant/apis/native-payment/direct-jsons/native-prepay.html",
        "https://api.mch.weixin.qq.com/v3/pay/transactions/native",
        headers=JSON,
        body=js(
            {
                "appid": "wxd678efh567hg6787",
                "mchid": "1230000109",
                "description": "Image形象店-深圳腾大-QQ公仔",
                "out_trade_no": "1217752501201407033233368018",
                "time_expire": "2018-06-08T10:34:56+08:00",
                "attach": "自定义数据说明",
                "notify_url": "https://www.weixin.qq.com/wxpay/pay.php",
                "goods_tag": "WXG",
                "amount": {"total": 100, "currency": "CNY"},
            }
        ),
    ),
    case(
        "neg-card-bin-lookup-response",
        "https://docs.adyen.com/api-explorer/BinLookup/54/post/getCostEstimate (masked card data)",
        "https://pal-test.adyen.com/pal/servlet/BinLookup/v54/getCostEstimate",
        direction="response",
        headers=JSON,
        body=js(
            {
                "cardBin": {
                    "bin": "411111",
                    "summary": "1111",
                    "fundingSource": "CREDIT",
                    "issuingCountry": "US",
                    "paymentMethod": "visa",
                },
                "costEstimateAmount": {"currency": "EUR", "value": 23},
                "resultCode": "Success",
                "surchargeType": "ZERO",
            }
        ),
    ),
    case(
        "neg-store-detail-response",
        "https://lbs.amap.com/api/webservice/guide/api/search (a POI: public place, not the user)",
        "https://api.example-wallet.cn/v1/merchant/1024",
        direction="response",
        headers=JSON,
        body=js(
            {
                "merchant_id": "1024",
                "name": "星巴克(国贸店)",
                "category": "咖啡厅",
                "rating": "4.6",
                "opening_hours": "07:00-22:00",
                "price_level": 2,
            }
        ),
    ),
    case(
        "neg-hot-searches",
        "https://lbs.amap.com/api/webservice/guide/api/search (trending keywords returned to every user)",
        "https://api.example-wallet.cn/v1/search/hot",
        direction="response",
        headers=JSON,
        body=js(
            {
                "hot_searches": [
                    {"word": "信用卡", "rank": 1},
                    {"word": "基金", "rank": 2},
                    {"word": "花呗", "rank": 3},
                ]
            }
        ),
    ),
    case(
        "neg-i18n-strings",
        "https://developer.android.com/guide/topics/resources/string-resource (UI strings fetched at start)",
        "https://api.example-wallet.com/v1/i18n/en",
        direction="response",
        headers=JSON,
        body=js(
            {
                "strings": {
                    "login_title": "Welcome back",
                    "password_hint": "At least 8 characters",
                    "phone_label": "Mobile number",
                    "name_label": "Full name",
                    "email_placeholder": "you@example.com",
                }
            }
        ),
    ),
    case(
        "neg-partner-apps",
        "https://developer.android.com/guide/topics/manifest/manifest-element#package (partner app catalogue)",
        "https://api.example-wallet.com/v1/partners",
        direction="response",
        headers=JSON,
        body=js(
            {
                "partners": [
                    {"package": "com.partner.one", "name": "Partner One"},
                    {"package": "com.partner.two", "name": "Partner Two"},
                    {"package": "com.partner.three", "name": "Partner Three"},
                ]
            }
        ),
    ),
    case(
        "neg-loan-terms",
        "https://www.consumerfinance.gov/rules-policy/regulations/1026/18/ (APR disclosure figures)",
        "https://api.example-wallet.com/v1/loan/products",
        direction="response",
        headers=JSON,
        body=js(
            {
                "loan_rates": [{"term": 12, "apr": "7.9"}, {"term": 24, "apr": "8.4"}],
                "max_amount": "50000",
                "min_income": "3000",
                "min_credit_score": "620",
            }
        ),
    ),
    case(
        "neg-city-list",
        "https://lbs.amap.com/api/webservice/guide/api/district (administrative areas with centres)",
        "https://api.example-wallet.cn/v1/geo/cities",
        direction="response",
        headers=JSON,
        body=js(
            {
                "cities": [
                    {"name": "北京", "adcode": "110000", "lat": 39.904989, "lng": 116.405285},
                    {"name": "上海", "adcode": "310000", "lat": 31.231706, "lng": 121.472644},
                ]
            }
        ),
    ),
    case(
        "neg-company-contact",
        "https://www.apple.com/legal/privacy/ (a company's published contact details)",
        "https://api.example-wallet.com/v1/about",
        direction="response",
        headers=JSON,
        body=js(
            {
                "company": "Example Payments Ltd",
                "hotline": "95188",
                "email": "service@example.com",
                "address": "Example Tower, 1 Example Road",
                "name": "Wallet Pro",
            }
        ),
    ),
]

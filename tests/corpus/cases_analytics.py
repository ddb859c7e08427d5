"""Analytics, attribution, push and crash SDKs: Umeng, Sensors Data, Firebase/GA4, AppsFlyer,
Adjust, JPush, Getui, Bugly, Facebook, Segment, Mixpanel, Sentry, MSA (OAID)."""

from __future__ import annotations

from tests.corpus.build import FORM, JSON, Case, b64, case, form, gzip_b64, js, label, pb

IMEI = "490154203237518"
ANDROID_ID = "9f3b2c1d0e4a5b6c"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
IDFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
IDFV = "E621E1F8-C36C-495A-93FC-0C247A3E6E5F"
MAC = "a4:5e:60:c2:1f:0b"
AF_ID = "1700000000123-1234567890123456789"
DEV = "identifiers.device"
ADV = "identifiers.advertising"
USER = "identifiers.user"

UMENG = "https://www.umeng.com/page/policy (Umeng SDK data list: IMEI, Android ID, MAC, OAID, IDFA)"
SENSORS = "https://manual.sensorsdata.cn/sa/latest/ (data format: distinct_id, $latitude x10^6)"

_sensors_events = js(
    [
        {
            "distinct_id": "user_8842913",
            "anonymous_id": "a1b2c3d4e5f6a7b8",
            "login_id": "user_8842913",
            "type": "track",
            "event": "$AppStart",
            "time": 1700000000123,
            "_track_id": 1234567890,
            "lib": {"$lib": "Android", "$lib_version": "6.7.2", "$lib_method": "code"},
            "properties": {
                "$os": "Android",
                "$os_version": "12",
                "$manufacturer": "samsung",
                "$model": "SM-G9910",
                "$screen_width": 1080,
                "$screen_height": 2400,
                "$carrier": "中国移动",
                "$network_type": "WIFI",
                "$wifi": True,
                "$app_version": "3.2.0",
                "$device_id": ANDROID_ID,
                "$latitude": 31230416,
                "$longitude": 121473701,
                "$timezone_offset": -480,
                "$is_first_day": False,
            },
        }
    ]
)
_SD = "body/form:data_list/base64/gzip/json:$[0]"

CASES: list[Case] = [
    case(
        "umeng-android-header",
        UMENG,
        "https://ulogs.umeng.com/unify_logs",
        headers=JSON,
        body=js(
            {
                "header": {
                    "appkey": "5f8d0a7b1c2e3d4f5a6b7c8d",
                    "channel": "huawei",
                    "device_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
                    "idmd5": "8d777f385d3dfec8815d20f7496026dc",
                    "mc": MAC,
                    "imei": IMEI,
                    "android_id": ANDROID_ID,
                    "oaid": "a7f3c9e1-2b4d-4e6f-8a1c-3d5e7f9b1c2d",
                    "os": "Android",
                    "os_version": "12",
                    "device_model": "SM-G9910",
                    "device_brand": "samsung",
                    "resolution": "2400*1080",
                    "carrier": "中国移动",
                    "access": "wifi",
                    "language": "zh",
                    "timezone": 8,
                    "sdk_version": "9.6.1",
                    "app_version": "3.2.0",
                    "package_name": "com.example.wallet",
                },
                "analytics": {
                    "sessions": [
                        {
                            "id": "B3E1A7C2D4F6E8A0B1C3D5E7F9A1B3C5",
                            "start_time": 1700000000000,
                            "end_time": 1700000065000,
                            "pages": [{"page_name": "HomeActivity", "duration": 5321}],
                        }
                    ]
                },
            }
        ),
        labels=[
            label(DEV, "a1b2c3d4e5f60718293a4b5c6d7e8f90", "body/json:$.header.device_id"),
            label(DEV, "8d777f385d3dfec8815d20f7496026dc", "body/json:$.header.idmd5"),
            label(DEV, MAC, "body/json:$.header.mc"),
            label(DEV, IMEI, "body/json:$.header.imei"),
            label(DEV, ANDROID_ID, "body/json:$.header.android_id"),
            label(ADV, "a7f3c9e1-2b4d-4e6f-8a1c-3d5e7f9b1c2d", "body/json:$.header.oaid"),
        ],
    ),
    case(
        "umeng-ios-header",
        UMENG,
        "https://ulogs.umeng.com/unify_logs",
        headers=JSON,
        body=js(
            {
                "header": {
                    "appkey": "5f8d0a7b1c2e3d4f5a6b7c8d",
                    "idfa": IDFA,
                    "idfv": IDFV,
                    "utdid": "XwKZc2Hq3BADAKnVmQKfD1x0",
                    "device_model": "iPhone14,2",
                    "os": "iOS",
                    "os_version": "17.1",
                    "carrier": "中国联通",
                    "access": "4G",
                }
            }
        ),
        labels=[
            label(ADV, IDFA, "body/json:$.header.idfa"),
            label(DEV, IDFV, "body/json:$.header.idfv"),
            label(DEV, "XwKZc2Hq3BADAKnVmQKfD1x0", "body/json:$.header.utdid"),
        ],
    ),
    case(
        "umeng-custom-event-phone",
        "https://developer.umeng.com/docs/119267/detail/118637 (custom events, ekv)",
        "https://ulogs.umeng.com/unify_logs",
        headers=JSON,
        body=js(
            {
                "content": {
                    "ekv": [
                        {
                            "id": "pay_success",
                            "ts": 1700000000456,
                            "du": 0,
                            "amount": "88.00",
                            "user_phone": "13812345678",
                        }
                    ]
                }
            }
        ),
        labels=[label("contact.phone", "13812345678", "body/json:$.content.ekv[0].user_phone")],
    ),
    case(
        "sensors-track-gzip-base64",
        SENSORS,
        "https://sdk.sensorsdata.cn/sa?project=default",
        headers=FORM,
        body=form({"crc": "-1520311476", "gzip": "1", "data_list": gzip_b64(_sensors_events)}),
        labels=[
            label(USER, "user_8842913", f"{_SD}.distinct_id"),
            label(DEV, "a1b2c3d4e5f6a7b8", f"{_SD}.anonymous_id"),
            label(DEV, ANDROID_ID, f"{_SD}.properties.$device_id"),
            label("location.precise", "31.230416,121.473701", f"{_SD}.properties.$latitude"),
        ],
    ),
    case(
        "sensors-profile-set",
        SENSORS,
        "https://sdk.sensorsdata.cn/sa?project=default",
        headers=FORM,
        body=form(
            {
                "gzip": "0",
                "data": b64(
                    js(
                        {
                            "distinct_id": "user_8842913",
                            "type": "profile_set",
                            "time": 1700000000789,
                            "properties": {
                                "$name": "王芳",
                                "phone": "+8613912345678",
                                "email": "wang.fang@example.com",
                                "gender": "女",
                                "$city": "上海",
                            },
                        }
                    )
                ),
            }
        ),
        labels=[
            label(USER, "user_8842913", "body/form:data/base64/json:$.distinct_id"),
            label("contact.name", "王芳", "body/form:data/base64/json:$.properties.$name"),
            label(
                "contact.phone", "+8613912345678", "body/form:data/base64/json:$.properties.phone"
            ),
            label(
                "contact.email",
                "wang.fang@example.com",
                "body/form:data/base64/json:$.properties.email",
            ),
            label("location.coarse", "上海", "body/form:data/base64/json:$.properties.$city"),
        ],
    ),
    case(
        "ga4-measurement-protocol",
        "https://developers.google.com/analytics/devguides/collection/protocol/ga4/reference",
        "https://www.google-analytics.com/mp/collect?firebase_app_id=1:1234567890:android:321abc456def7890&api_secret=XA1b2C3d4E5f6G7h",
        headers=JSON,
        body=js(
            {
                "app_instance_id": "4bd9a1c3e5f7a9b1c3d5e7f9a1b3c5d7",
                "user_id": "jane.doe.42",
                "events": [
                    {
                        "name": "purchase",
                        "params": {"currency": "USD", "value": 9.99, "transaction_id": "T_12345"},
                    }
                ],
                "user_properties": {"favorite_color": {"value": "blue"}},
            }
        ),
        labels=[
            label(DEV, "4bd9a1c3e5f7a9b1c3d5e7f9a1b3c5d7", "body/json:$.app_instance_id"),
            label(USER, "jane.doe.42", "body/json:$.user_id"),
        ],
    ),
    case(
        "firebase-installations",
        "https://firebase.google.com/docs/projects/manage-installations (Installations API: fid)",
        "https://firebaseinstallations.googleapis.com/v1/projects/wallet-demo/installations",
        headers={
            **JSON,
            "x-goog-api-key": "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
            "X-Android-Package": "com.example.wallet",
            "X-Android-Cert": "DAE9BE9D0E2A3C4F5B6A7D8E9F0A1B2C3D4E5F6A",
        },
        body=js(
            {
                "fid": "cZ5rWN8kQ5mL0X3bYtQ1ab",
                "appId": "1:1234567890:android:321abc456def7890",
                "authVersion": "FIS_v2",
                "sdkVersion": "a:17.1.0",
            }
        ),
        labels=[label(DEV, "cZ5rWN8kQ5mL0X3bYtQ1ab", "body/json:$.fid")],
    ),
    case(
        "firebase-measurement-protobuf",
        "https://firebase.google.com/docs/analytics (app-measurement.com upload; schema-less protobuf)",
        "https://app-measurement.com/a",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=pb(
            (
                1,
                [
                    (1, 1),
                    (2, [(2, "_s"), (4, 1700000000123)]),
                    (8, "android"),
                    (9, "12"),
                    (10, "SM-G9910"),
                    (16, "com.example.wallet"),
                    (19, GAID),
                    (21, "4bd9a1c3e5f7a9b1c3d5e7f9a1b3c5d7"),
                    (25, "1:1234567890:android:321abc456def7890"),
                ],
            )
        ),
        labels=[
            label(ADV, GAID, "body/protobuf:$.1.19"),
            label(DEV, "4bd9a1c3e5f7a9b1c3d5e7f9a1b3c5d7", "body/protobuf:$.1.21"),
        ],
    ),
    case(
        "appsflyer-s2s-event",
        "https://dev.appsflyer.com/hc/reference/s2s-events-api3-post",
        "https://api2.appsflyer.com/inappevent/com.example.wallet",
        headers=JSON,
        body=js(
            {
                "appsflyer_id": AF_ID,
                "customer_user_id": "jane.doe.42",
                "advertising_id": GAID,
                "eventName": "af_purchase",
                "eventValue": js({"af_revenue": "9.99", "af_currency": "USD"}),
                "eventTime": "2023-11-15 08:00:00.000",
                "ip": "203.0.113.7",
                "bundleIdentifier": "com.example.wallet",
            }
        ),
        labels=[
            label(DEV, AF_ID, "body/json:$.appsflyer_id"),
            label(USER, "jane.doe.42", "body/json:$.customer_user_id"),
            label(ADV, GAID, "body/json:$.advertising_id"),
            label("network.ip", "203.0.113.7", "body/json:$.ip"),
        ],
    ),
    case(
        "appsflyer-sdk-launch",
        "https://dev.appsflyer.com/hc/docs/android-sdk-reference-appsflyerlib (SDK launch event fields)",
        "https://launches.appsflyer.com/api/v6.12/androidevent?app_id=com.example.wallet&buildnumber=6.12.2",
        headers=JSON,
        body=js(
            {
                "advertiserId": GAID,
                "advertiserIdEnabled": "true",
                "uid": AF_ID,
                "installDate": "2023-11-15_080000+0000",
                "model": "SM-G9910",
                "brand": "samsung",
                "lang_code": "zh",
                "country": "CN",
                "operator": "中国移动",
                "network": "WIFI",
                "sdk": "33",
                "deviceData": {
                    "cpu_abi": "arm64-v8a",
                    "build_display_id": "SP1A.210812.016.G9910ZCU2BVA5",
                    "btch": "no",
                    "btl": "87.0",
                    "dim": {"size": "2", "xdp": "409.432", "ydp": "411.891", "d_dpi": "420"},
                    "sensors": [{"sT": 1, "sV": "STMicro", "sN": "LSM6DSO Accelerometer"}],
                },
                "imei": IMEI,
                "android_id": ANDROID_ID,
            }
        ),
        labels=[
            label(ADV, GAID, "body/json:$.advertiserId"),
            label(DEV, AF_ID, "body/json:$.uid"),
            label(DEV, IMEI, "body/json:$.imei"),
            label(DEV, ANDROID_ID, "body/json:$.android_id"),
            label("device_fingerprint", "deviceData", "body/json:$.deviceData.cpu_abi"),
        ],
    ),
    case(
        "adjust-sdk-session",
        "https://help.adjust.com/en/article/device-identifiers (gps_adid, android_uuid, mac_sha1)",
        "https://app.adjust.com/session",
        headers=FORM,
        body=form(
            [
                ("app_token", "abc123def456"),
                ("gps_adid", GAID),
                ("android_uuid", "0f8fad5b-d9cb-469f-a165-70867728950e"),
                ("created_at", "2023-11-15T08:00:00.000Z+0000"),
                ("device_type", "phone"),
                ("device_manufacturer", "samsung"),
                ("os_name", "android"),
                ("os_version", "12"),
                ("api_level", "31"),
                ("language", "zh"),
                ("country", "CN"),
                ("screen_size", "normal"),
                ("display_width", "1080"),
                ("display_height", "2400"),
                ("tracking_enabled", "1"),
                ("package_name", "com.example.wallet"),
                ("session_count", "3"),
                ("session_length", "120"),
                ("android_id", ANDROID_ID),
                ("mac_sha1", "4ba0a0fb8f5dc2f18b7e9f7b1f8a5dc0ab3b2f1e"),
                ("mac_md5", "0bcd6f5a0d2e87f8cbf12d4a0ae8e3a9"),
            ]
        ),
        labels=[
            label(ADV, GAID, "body/form:gps_adid"),
            label(DEV, "0f8fad5b-d9cb-469f-a165-70867728950e", "body/form:android_uuid"),
            label(DEV, ANDROID_ID, "body/form:android_id"),
            label(DEV, "4ba0a0fb8f5dc2f18b7e9f7b1f8a5dc0ab3b2f1e", "body/form:mac_sha1"),
            label(DEV, "0bcd6f5a0d2e87f8cbf12d4a0ae8e3a9", "body/form:mac_md5"),
        ],
    ),
    case(
        "adjust-s2s-event",
        "https://dev.adjust.com/en/api/s2s-api/events",
        f"https://s2s.adjust.com/event?s2s=1&app_token=abc123def456&event_token=f2e728&gps_adid={GAID}"
        "&adid=5a3b8c7d9e1f2a4b6c8d0e2f4a6b8c0d&ip_address=203.0.113.7&created_at_unix=1700000000"
        "&revenue=9.99&currency=EUR",
        method="GET",
        labels=[
            label(ADV, GAID, "url/query:gps_adid"),
            label(DEV, "5a3b8c7d9e1f2a4b6c8d0e2f4a6b8c0d", "url/query:adid"),
            label("network.ip", "203.0.113.7", "url/query:ip_address"),
        ],
    ),
    case(
        "adjust-ios-session",
        "https://help.adjust.com/en/article/device-identifiers (idfa, idfv)",
        "https://app.adjust.com/session",
        headers=FORM,
        body=form(
            [
                ("app_token", "abc123def456"),
                ("idfa", IDFA),
                ("idfv", IDFV),
                ("created_at", "2023-11-15T08:00:00.000Z+0000"),
                ("os_name", "ios"),
                ("os_version", "17.1"),
                ("hardware_name", "iPhone14,2"),
                ("att_status", "3"),
            ]
        ),
        labels=[label(ADV, IDFA, "body/form:idfa"), label(DEV, IDFV, "body/form:idfv")],
    ),
    case(
        "jpush-device-report",
        "https://www.jiguang.cn/license/privacy (JPush: IMEI, Android ID, MAC, IMSI, IP, Wi-Fi)",
        "https://stats.jpush.cn/v3/report",
        headers=JSON,
        body=js(
            {
                "platform": "a",
                "registration_id": "1a0018970a3c9b4e21e",
                "appkey": "4f9d2e7a8b6c5d3e1f0a9b8c",
                "imei": "860123456789014",
                "android_id": ANDROID_ID,
                "mac": MAC,
                "imsi": "460001234567890",
                "local_ip": "192.168.1.23",
                "wifi": {"ssid": "HomeNet", "bssid": "3c:37:86:5d:75:d4"},
                "sdk_ver": "5.2.0",
            }
        ),
        labels=[
            label(DEV, "1a0018970a3c9b4e21e", "body/json:$.registration_id"),
            label(DEV, "860123456789014", "body/json:$.imei"),
            label(DEV, ANDROID_ID, "body/json:$.android_id"),
            label(DEV, "460001234567890", "body/json:$.imsi"),
            label(DEV, MAC, "body/json:$.mac"),
            label("network.ip", "192.168.1.23", "body/json:$.local_ip"),
            label("network.wifi", "HomeNet", "body/json:$.wifi.ssid"),
            label("network.wifi", "3c:37:86:5d:75:d4", "body/json:$.wifi.bssid"),
        ],
    ),
    case(
        "jpush-applist",
        "https://www.jiguang.cn/license/privacy (JPush collects the installed app list)",
        "https://stats.jpush.cn/v3/report",
        headers=JSON,
        body=js(
            {
                "type": "app_list",
                "itime": 1700000000,
                "data": [
                    {"pkg": "com.tencent.mm", "name": "微信", "ver": "8.0.40"},
                    {"pkg": "com.eg.android.AlipayGphone", "name": "支付宝", "ver": "10.5.30"},
                    {"pkg": "com.taobao.taobao", "name": "淘宝", "ver": "10.28.10"},
                    {"pkg": "com.icbc", "name": "中国工商银行", "ver": "8.1.0.5.1"},
                    {"pkg": "com.jingdong.app.mall", "name": "京东", "ver": "12.3.2"},
                ],
            }
        ),
        labels=[label("installed_apps", "5 packages", "body/json:$.data[0].pkg")],
    ),
    case(
        "getui-register-applist",
        "https://docs.getui.com/privacy/ (Getui: IMEI, IMSI, MAC, app list, base stations)",
        "https://sdk.open.phone.igexin.com/api.php",
        headers=FORM,
        body=form(
            [
                ("action", "register"),
                ("cid", "8b3f5a1c2d4e6f708192a3b4c5d6e7f8"),
                ("imei", "356938035643809"),
                ("imsi", "460019876543210"),
                ("mac", "A45E60C21F0B"),
                (
                    "pkgs",
                    "com.tencent.mm,com.taobao.taobao,com.eg.android.AlipayGphone,com.sina.weibo",
                ),
                ("bts", "460,00,4189,7869,-70"),
            ]
        ),
        labels=[
            label(DEV, "8b3f5a1c2d4e6f708192a3b4c5d6e7f8", "body/form:cid"),
            label(DEV, "356938035643809", "body/form:imei"),
            label(DEV, "460019876543210", "body/form:imsi"),
            label(DEV, "A45E60C21F0B", "body/form:mac"),
            label("installed_apps", "4 packages", "body/form:pkgs"),
            label("network.cell", "460,00,4189,7869,-70", "body/form:bts"),
        ],
    ),
    case(
        "bugly-crash-report",
        "https://bugly.qq.com/docs/user-guide/instruction-manual-android/ (userId, deviceId)",
        "https://android.bugly.qq.com/rqd/async?aid=4f1c2d3e",
        headers=JSON,
        body=js(
            {
                "appId": "1a2b3c4d5e",
                "appVer": "3.2.0",
                "userId": "u_8842913",
                "deviceId": "b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5",
                "deviceModel": "SM-G9910",
                "osVer": "12",
                "crashType": "java",
                "crashStack": "java.lang.NullPointerException\n\tat com.example.wallet.pay.PayActivity"
                ".onCreate(PayActivity.java:42)",
                "crashTime": 1700000000999,
            }
        ),
        labels=[
            label(USER, "u_8842913", "body/json:$.userId"),
            label(DEV, "b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5", "body/json:$.deviceId"),
        ],
    ),
    case(
        "facebook-app-events",
        "https://developers.facebook.com/docs/marketing-api/app-event-api/",
        "https://graph.facebook.com/v18.0/1234567890123456/activities",
        headers=FORM,
        body=form(
            [
                ("event", "CUSTOM_APP_EVENTS"),
                ("advertiser_id", GAID),
                ("advertiser_tracking_enabled", "1"),
                ("application_tracking_enabled", "1"),
                ("anon_id", "XZ1f0e4c3b-2a19-4d8e-b7f6-5a4b3c2d1e0f"),
                ("custom_events", js([{"_eventName": "fb_mobile_purchase", "_valueToSum": 9.99}])),
                (
                    "ud",
                    js({"em": "309a0a5c3e211326ae75ca18196d301a9bdbd1a882a4d2569511033da23f0abd"}),
                ),
            ]
        ),
        labels=[
            label(ADV, GAID, "body/form:advertiser_id"),
            label(DEV, "XZ1f0e4c3b-2a19-4d8e-b7f6-5a4b3c2d1e0f", "body/form:anon_id"),
            label(
                "contact.email",
                "309a0a5c3e211326ae75ca18196d301a9bdbd1a882a4d2569511033da23f0abd",
                "body/form:ud/json:$.em",
            ),
        ],
    ),
    case(
        "facebook-conversions-api",
        "https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/customer-information-parameters",
        "https://graph.facebook.com/v18.0/1234567890123456/events",
        headers=JSON,
        body=js(
            {
                "data": [
                    {
                        "event_name": "Purchase",
                        "event_time": 1700000000,
                        "action_source": "app",
                        "user_data": {
                            "em": [
                                "309a0a5c3e211326ae75ca18196d301a9bdbd1a882a4d2569511033da23f0abd"
                            ],
                            "ph": [
                                "254aa248acb47dd654ca3ea53f48c2c26d641d23d7e2e93a1ec56258df7674c4"
                            ],
                            "client_ip_address": "203.0.113.7",
                            "madid": GAID,
                        },
                        "custom_data": {"currency": "USD", "value": "142.52"},
                    }
                ]
            }
        ),
        labels=[
            label(
                "contact.email",
                "309a0a5c3e211326ae75ca18196d301a9bdbd1a882a4d2569511033da23f0abd",
                "body/json:$.data[0].user_data.em[0]",
            ),
            label(
                "contact.phone",
                "254aa248acb47dd654ca3ea53f48c2c26d641d23d7e2e93a1ec56258df7674c4",
                "body/json:$.data[0].user_data.ph[0]",
            ),
            label("network.ip", "203.0.113.7", "body/json:$.data[0].user_data.client_ip_address"),
            label(ADV, GAID, "body/json:$.data[0].user_data.madid"),
        ],
    ),
    case(
        "segment-identify",
        "https://segment.com/docs/connections/spec/identify/ and /spec/common/ (context)",
        "https://api.segment.io/v1/identify",
        headers=JSON,
        body=js(
            {
                "type": "identify",
                "userId": "97980cfea0067",
                "anonymousId": "507f191e810c19729de860ea",
                "traits": {
                    "name": "Peter Gibbons",
                    "email": "peter@example.com",
                    "plan": "premium",
                    "logins": 5,
                    "address": {
                        "street": "6th St",
                        "city": "San Francisco",
                        "state": "CA",
                        "postalCode": "94103",
                        "country": "USA",
                    },
                },
                "context": {
                    "ip": "24.5.69.5",
                    "device": {
                        "advertisingId": "7A3CBEA0-BDF5-11E4-8DFC-AA07A5B093DB",
                        "model": "iPhone7,2",
                    },
                    "location": {"latitude": 40.7128, "longitude": -74.006},
                },
            }
        ),
        labels=[
            label(USER, "97980cfea0067", "body/json:$.userId"),
            label(DEV, "507f191e810c19729de860ea", "body/json:$.anonymousId"),
            label("contact.name", "Peter Gibbons", "body/json:$.traits.name"),
            label("contact.email", "peter@example.com", "body/json:$.traits.email"),
            label("contact.address", "6th St", "body/json:$.traits.address.street"),
            label("network.ip", "24.5.69.5", "body/json:$.context.ip"),
            label(
                ADV,
                "7A3CBEA0-BDF5-11E4-8DFC-AA07A5B093DB",
                "body/json:$.context.device.advertisingId",
            ),
            label("location.precise", "40.7128,-74.006", "body/json:$.context.location.latitude"),
        ],
    ),
    case(
        "mixpanel-people-set",
        "https://developer.mixpanel.com/reference/profile-set",
        "https://api.mixpanel.com/engage#profile-set",
        headers=FORM,
        body=form(
            {
                "data": js(
                    [
                        {
                            "$token": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
                            "$distinct_id": "13793",
                            "$set": {
                                "$first_name": "John",
                                "$last_name": "Doe",
                                "$email": "john.doe@example.com",
                                "$phone": "+1 415 555 0123",
                                "$city": "San Francisco",
                            },
                        }
                    ]
                )
            }
        ),
        labels=[
            label(USER, "13793", "body/form:data/json:$[0].$distinct_id"),
            label("contact.name", "John", "body/form:data/json:$[0].$set.$first_name"),
            label("contact.name", "Doe", "body/form:data/json:$[0].$set.$last_name"),
            label("contact.email", "john.doe@example.com", "body/form:data/json:$[0].$set.$email"),
            label("contact.phone", "+1 415 555 0123", "body/form:data/json:$[0].$set.$phone"),
            label("location.coarse", "San Francisco", "body/form:data/json:$[0].$set.$city"),
        ],
    ),
    case(
        "sentry-event-user",
        "https://develop.sentry.dev/sdk/data-model/event-payloads/user/",
        "https://o0.ingest.sentry.io/api/4504/store/",
        headers=JSON,
        body=js(
            {
                "event_id": "fc6d8c0c43fc4630ad850ee518f1b9d0",
                "timestamp": "2023-11-15T08:00:00Z",
                "platform": "java",
                "release": "com.example.wallet@3.2.0+320",
                "user": {
                    "id": "u_8842913",
                    "email": "jane.doe@example.com",
                    "ip_address": "203.0.113.7",
                    "username": "janedoe",
                },
                "exception": {"values": [{"type": "IllegalStateException", "value": "bad state"}]},
            }
        ),
        labels=[
            label(USER, "janedoe", "body/json:$.user.username"),
            label("contact.email", "jane.doe@example.com", "body/json:$.user.email"),
            label("network.ip", "203.0.113.7", "body/json:$.user.ip_address"),
        ],
    ),
    case(
        "msa-oaid-report",
        "http://www.msa-alliance.cn/col.jsp?id=120 (MSA SDK: OAID, VAID, AAID)",
        "https://api.example-wallet.cn/v1/device/ids",
        headers=JSON,
        body=js(
            {
                "oaid": "a7f3c9e12b4d4e6f",
                "vaid": "9c1d2e3f4a5b6c7d",
                "aaid": "0f8fad5b-d9cb-469f-a165-70867728950e",
                "is_support": True,
            }
        ),
        labels=[
            label(ADV, "a7f3c9e12b4d4e6f", "body/json:$.oaid"),
            label(DEV, "9c1d2e3f4a5b6c7d", "body/json:$.vaid"),
            label(ADV, "0f8fad5b-d9cb-469f-a165-70867728950e", "body/json:$.aaid"),
        ],
    ),
]

"""What people do in apps: address books, health data, browsing and searching, messages and
photos, logins and tokens, identity documents, installed apps."""

from __future__ import annotations

import base64

from tests.corpus.build import FORM, JSON, Case, b64, case, form, js, label

USER = "identifiers.user"
CRED = "credentials"
_JWT_CLAIMS = {"sub": "2088102104794936", "phone_number": "+8613812345678", "exp": 1700003600}
JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
    + base64.urlsafe_b64encode(js(_JWT_CLAIMS).encode()).decode().rstrip("=")
    + ".c2lnbmF0dXJlLW5vdC1jaGVja2Vk"
)
_MULTIPART = (
    (
        b"--BfLow7x\r\n"
        b'Content-Disposition: form-data; name="feedback"\r\n\r\n'
        b"The app crashes every time I open my bills page\r\n"
        b"--BfLow7x\r\n"
        b'Content-Disposition: form-data; name="phone"\r\n\r\n'
        b"13812345678\r\n"
        b"--BfLow7x\r\n"
        b'Content-Disposition: form-data; name="screenshot"; filename="Screenshot_20231115.png"\r\n'
        b"Content-Type: image/png\r\n\r\n"
    )
    + b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    + b"\r\n--BfLow7x--\r\n"
)

CASES: list[Case] = [
    case(
        "google-people-batch-create",
        "https://developers.google.com/people/api/rest/v1/people/batchCreateContacts",
        "https://people.googleapis.com/v1/people:batchCreateContacts",
        headers=JSON,
        body=js(
            {
                "contacts": [
                    {
                        "contactPerson": {
                            "names": [{"givenName": "John", "familyName": "Doe"}],
                            "phoneNumbers": [{"value": "+1 650-253-0000"}],
                        }
                    },
                    {
                        "contactPerson": {
                            "names": [{"givenName": "Li", "familyName": "Na"}],
                            "emailAddresses": [{"value": "li.na@example.org"}],
                            "phoneNumbers": [{"value": "+86 139 0000 2222"}],
                        }
                    },
                ],
                "readMask": "names,phoneNumbers",
            }
        ),
        labels=[label("contacts_list", "2 contacts", "body/json:$.contacts")],
    ),
    case(
        "phonebook-upload",
        "https://developer.android.com/reference/android/provider/ContactsContract.CommonDataKinds.Phone "
        "(DISPLAY_NAME, NUMBER) as uploaded by credit apps",
        "https://api.example-loan.cn/v1/risk/contacts",
        headers=JSON,
        body=js(
            {
                "uid": "u_8842913",
                "contacts": [
                    {"display_name": "张伟", "number": "13900001111"},
                    {"display_name": "李娜", "number": "139 0000 2222"},
                    {"display_name": "妈妈", "number": "13700003333"},
                ],
            }
        ),
        labels=[
            label(USER, "u_8842913", "body/json:$.uid"),
            label("contacts_list", "3 contacts", "body/json:$.contacts"),
        ],
    ),
    case(
        "wecom-user-create",
        "https://developer.work.weixin.qq.com/document/path/90195",
        "https://qyapi.weixin.qq.com/cgi-bin/user/create?access_token=ACCESS_TOKEN_5f8d0a7b1c2e3d4f",
        headers=JSON,
        body=js(
            {
                "userid": "zhangsan",
                "name": "张三",
                "mobile": "+86 13800000000",
                "department": [1, 2],
                "position": "产品经理",
                "gender": "1",
                "email": "zhangsan@gzdev.com",
                "address": "广州市海珠区新港中路",
            }
        ),
        labels=[
            label(CRED, "ACCESS_TOKEN_5f8d0a7b1c2e3d4f", "url/query:access_token"),
            label(USER, "zhangsan", "body/json:$.userid"),
            label("contact.name", "张三", "body/json:$.name"),
            label("contact.phone", "+86 13800000000", "body/json:$.mobile"),
            label("contact.email", "zhangsan@gzdev.com", "body/json:$.email"),
            label("contact.address", "广州市海珠区新港中路", "body/json:$.address"),
        ],
    ),
    case(
        "wechat-werun",
        "https://developers.weixin.qq.com/miniprogram/dev/api/open-api/werun/wx.getWeRunData.html",
        "https://api.example-wallet.cn/v1/sport/steps",
        headers=JSON,
        body=js(
            {
                "stepInfoList": [
                    {"timestamp": 1445866601, "step": 100},
                    {"timestamp": 1445876601, "step": 120},
                ],
                "watermark": {"timestamp": 1700000000, "appid": "wx4f4bc4dec97d474b"},
            }
        ),
        labels=[
            label("health_fitness", "100", "body/json:$.stepInfoList[0].step"),
            label("health_fitness", "120", "body/json:$.stepInfoList[1].step"),
        ],
    ),
    case(
        "fitbit-heart-rate",
        "https://dev.fitbit.com/build/reference/web-api/heartrate-timeseries/get-heartrate-timeseries-by-date/",
        "https://api.fitbit.com/1/user/-/activities/heart/date/today/1d.json",
        direction="response",
        headers=JSON,
        body=js(
            {
                "activities-heart": [
                    {
                        "dateTime": "2019-05-08",
                        "value": {
                            "customHeartRateZones": [],
                            "heartRateZones": [
                                {
                                    "caloriesOut": 2877.06579,
                                    "max": 220,
                                    "min": 30,
                                    "minutes": 1440,
                                    "name": "Out of Range",
                                }
                            ],
                            "restingHeartRate": 76,
                        },
                    }
                ]
            }
        ),
        labels=[
            label(
                "health_fitness", "76", 'body/json:$["activities-heart"][0].value.restingHeartRate'
            )
        ],
    ),
    case(
        "fitbit-sleep",
        "https://dev.fitbit.com/build/reference/web-api/sleep/get-sleep-log-by-date/",
        "https://api.fitbit.com/1.2/user/-/sleep/date/2020-02-21.json",
        direction="response",
        headers=JSON,
        body=js(
            {
                "sleep": [
                    {
                        "dateOfSleep": "2020-02-21",
                        "duration": 27720000,
                        "efficiency": 96,
                        "isMainSleep": True,
                        "logId": 26013218219,
                        "minutesAsleep": 391,
                        "minutesAwake": 71,
                        "timeInBed": 462,
                        "type": "stages",
                    }
                ],
                "summary": {
                    "totalMinutesAsleep": 391,
                    "totalSleepRecords": 1,
                    "totalTimeInBed": 462,
                },
            }
        ),
        labels=[
            label("health_fitness", "391", "body/json:$.sleep[0].minutesAsleep"),
            label("health_fitness", "27720000", "body/json:$.sleep[0].duration"),
        ],
    ),
    case(
        "google-fit-aggregate",
        "https://developers.google.com/fit/rest/v1/reference/users/dataset/aggregate",
        "https://www.googleapis.com/fitness/v1/users/me/dataset:aggregate",
        direction="response",
        headers=JSON,
        body=js(
            {
                "bucket": [
                    {
                        "startTimeMillis": "1700000000000",
                        "endTimeMillis": "1700086400000",
                        "dataset": [
                            {
                                "dataSourceId": "derived:com.google.step_count.delta:com.google.android.gms:aggregated",
                                "point": [
                                    {
                                        "startTimeNanos": "1700000000000000000",
                                        "endTimeNanos": "1700086400000000000",
                                        "dataTypeName": "com.google.step_count.delta",
                                        "value": [{"intVal": 4821, "mapVal": []}],
                                    }
                                ],
                            }
                        ],
                    }
                ]
            }
        ),
        labels=[
            label(
                "health_fitness",
                "4821",
                "body/json:$.bucket[0].dataset[0].point[0].value[0].intVal",
            )
        ],
    ),
    case(
        "healthkit-upload",
        "https://developer.apple.com/documentation/healthkit/hkquantitytypeidentifier/stepcount",
        "https://api.example-insure.com/v1/health/samples",
        headers=JSON,
        body=js(
            {
                "samples": [
                    {
                        "type": "HKQuantityTypeIdentifierStepCount",
                        "value": 4821,
                        "unit": "count",
                        "startDate": "2023-11-14T00:00:00Z",
                    },
                    {
                        "type": "HKQuantityTypeIdentifierHeartRate",
                        "value": 72,
                        "unit": "count/min",
                        "startDate": "2023-11-14T08:00:00Z",
                    },
                ]
            }
        ),
        labels=[
            label("health_fitness", "4821", "body/json:$.samples[0].value"),
            label("health_fitness", "72", "body/json:$.samples[1].value"),
        ],
    ),
    case(
        "firefox-sync-history",
        "https://mozilla-services.readthedocs.io/en/latest/sync/objectformats.html#history",
        "https://sync-1-us-west1-g.sync.services.mozilla.com/1.5/12345/storage/history",
        headers=JSON,
        body=js(
            [
                {
                    "id": "LedpjJbe6Bhn",
                    "histUri": "https://news.example.org/article/123",
                    "title": "Example article",
                    "visits": [{"date": 1700000000000000, "type": 1}],
                }
            ]
        ),
        labels=[
            label(
                "browsing_history", "https://news.example.org/article/123", "body/json:$[0].histUri"
            )
        ],
    ),
    case(
        "chrome-history-items",
        "https://developer.chrome.com/docs/extensions/reference/api/history#type-HistoryItem",
        "https://api.example-browser.com/v1/sync",
        headers=JSON,
        body=js(
            {
                "history": [
                    {
                        "url": "https://shop.example.com/item/88",
                        "title": "Item",
                        "lastVisitTime": 1700000000000,
                        "visitCount": 3,
                    },
                    {
                        "url": "https://bank.example.com/loan",
                        "title": "Loans",
                        "lastVisitTime": 1700000100000,
                        "visitCount": 1,
                    },
                ]
            }
        ),
        labels=[
            label(
                "browsing_history", "https://shop.example.com/item/88", "body/json:$.history[0].url"
            ),
            label(
                "browsing_history", "https://bank.example.com/loan", "body/json:$.history[1].url"
            ),
        ],
    ),
    case(
        "sensors-referrer-search",
        "https://manual.sensorsdata.cn/sa/latest/ (preset property $referrer)",
        "https://sdk.sensorsdata.cn/sa?project=default",
        headers=FORM,
        body=form(
            {
                "data": b64(
                    js(
                        {
                            "distinct_id": "user_8842913",
                            "type": "track",
                            "event": "$pageview",
                            "properties": {
                                "$referrer": "https://www.baidu.com/s?wd=%E5%A6%82%E4%BD%95%E8%B4%B7%E6%AC%BE&ie=utf-8",
                                "$title": "首页",
                            },
                        }
                    )
                )
            }
        ),
        labels=[
            label(USER, "user_8842913", "body/form:data/base64/json:$.distinct_id"),
            label(
                "search_history",
                "如何贷款",
                "body/form:data/base64/json:$.properties.$referrer/query:wd",
            ),
        ],
    ),
    case(
        "taobao-suggest",
        "https://suggest.taobao.com/sug?code=utf-8&q=iphone (public suggestion endpoint)",
        "https://suggest.taobao.com/sug?code=utf-8&q=iphone+15+pro&callback=jsonp123",
        method="GET",
        labels=[label("search_history", "iphone 15 pro", "url/query:q")],
    ),
    case(
        "app-search-keyword",
        "https://opendocs.alipay.com/mini/api/search (search box keyword)",
        "https://api.example-wallet.cn/v2/search",
        headers=JSON,
        body=js({"keyword": "信用卡还款", "page": 1, "size": 20, "sort": "default"}),
        labels=[label("search_history", "信用卡还款", "body/json:$.keyword")],
    ),
    case(
        "feedback-multipart",
        "https://developer.umeng.com/docs/119267/detail/118592 (feedback: content, contact, images)",
        "https://api.example-wallet.cn/v1/feedback",
        headers={"Content-Type": "multipart/form-data; boundary=BfLow7x"},
        body=_MULTIPART,
        labels=[
            label(
                "user_content",
                "The app crashes every time I open my bills page",
                "body/multipart:feedback",
            ),
            label("contact.phone", "13812345678", "body/multipart:phone"),
            label("user_content", "Screenshot_20231115.png", "body/multipart:screenshot"),
        ],
    ),
    case(
        "avatar-upload",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Methods/POST (multipart/form-data file part)",
        "https://api.example-wallet.cn/v1/user/avatar",
        headers={"Content-Type": 'multipart/form-data; boundary="AaB03x"'},
        body=(
            b'--AaB03x\r\nContent-Disposition: form-data; name="avatar"; filename="IMG_0001.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0\x00\x10JFIF\x00\r\n--AaB03x--\r\n"
        ),
        labels=[label("user_content", "IMG_0001.jpg", "body/multipart:avatar")],
    ),
    case(
        "wechat-msg-sec-check",
        "https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/sec-center/sec-check/msgSecCheck.html",
        "https://api.weixin.qq.com/wxa/msg_sec_check?access_token=73_Yp8kQw4vXnZ2bLmR9sT1uV3xY5zA7cE",
        headers=JSON,
        body=js(
            {
                "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
                "scene": 2,
                "version": 2,
                "content": "明天下午三点在老地方见",
            }
        ),
        labels=[
            label(CRED, "73_Yp8kQw4vXnZ2bLmR9sT1uV3xY5zA7cE", "url/query:access_token"),
            label(USER, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "body/json:$.openid"),
            label("user_content", "明天下午三点在老地方见", "body/json:$.content"),
        ],
    ),
    case(
        "tencent-im-sendmsg",
        "https://cloud.tencent.com/document/product/269/2282 (openim/sendmsg: MsgBody, TIMTextElem)",
        "https://console.tim.qq.com/v4/openim/sendmsg?sdkappid=1400000000&identifier=admin&random=99999999&contenttype=json",
        headers=JSON,
        body=js(
            {
                "SyncOtherMachine": 1,
                "From_Account": "user_8842913",
                "To_Account": "user_1024",
                "MsgRandom": 1287657,
                "MsgBody": [
                    {
                        "MsgType": "TIMTextElem",
                        "MsgContent": {"Text": "hi, are you coming tonight?"},
                    }
                ],
            }
        ),
        labels=[
            label(USER, "user_8842913", "body/json:$.From_Account"),
            label(USER, "user_1024", "body/json:$.To_Account"),
            label(
                "user_content",
                "hi, are you coming tonight?",
                "body/json:$.MsgBody[0].MsgContent.Text",
            ),
        ],
    ),
    case(
        "oauth-password-grant",
        "https://datatracker.ietf.org/doc/html/rfc6749#section-4.3.2",
        "https://auth.example-wallet.com/oauth/token",
        headers=FORM,
        body=form(
            [
                ("grant_type", "password"),
                ("username", "jane.doe"),
                ("password", "hunter2!"),
                ("client_id", "wallet-android"),
            ]
        ),
        labels=[
            label(USER, "jane.doe", "body/form:username"),
            label(CRED, "hunter2!", "body/form:password"),
        ],
    ),
    case(
        "oauth-refresh-grant",
        "https://datatracker.ietf.org/doc/html/rfc6749#section-6",
        "https://auth.example-wallet.com/oauth/token",
        headers=FORM,
        body=form(
            [
                ("grant_type", "refresh_token"),
                ("refresh_token", "tGzv3JOkF0XG5Qx2TlKWIA"),
                ("client_id", "wallet-android"),
            ]
        ),
        labels=[label(CRED, "tGzv3JOkF0XG5Qx2TlKWIA", "body/form:refresh_token")],
    ),
    case(
        "http-basic-login",
        "https://datatracker.ietf.org/doc/html/rfc7617#section-2",
        "https://api.example-wallet.com/v1/me",
        method="GET",
        headers={"Authorization": "Basic amFuZS5kb2U6aHVudGVyMiE="},
        labels=[label(CRED, "Basic amFuZS5kb2U6aHVudGVyMiE=", "header:authorization")],
    ),
    case(
        "bearer-jwt",
        "https://datatracker.ietf.org/doc/html/rfc6750#section-2.1 (Bearer) and RFC 7519 (JWT claims)",
        "https://api.example-wallet.com/v1/accounts",
        method="GET",
        headers={"Authorization": f"Bearer {JWT}"},
        labels=[
            label(CRED, f"Bearer {JWT}", "header:authorization"),
            label(USER, "2088102104794936", "header:authorization/jwt/json:$.sub"),
            label(
                "contact.phone", "+8613812345678", "header:authorization/jwt/json:$.phone_number"
            ),
        ],
    ),
    case(
        "sms-login",
        "https://cloud.tencent.com/document/product/382/55981 (SMS verification code login)",
        "https://api.example-wallet.cn/v1/auth/sms/login",
        headers=JSON,
        body=js({"mobile": "13812345678", "sms_code": "482913", "device_type": "android"}),
        labels=[
            label("contact.phone", "13812345678", "body/json:$.mobile"),
            label(CRED, "482913", "body/json:$.sms_code"),
        ],
    ),
    case(
        "payment-password",
        "https://pay.weixin.qq.com/wiki/doc/api/micropay.php (payment authorisation with a PIN)",
        "https://api.example-wallet.cn/v1/pay/confirm",
        headers=JSON,
        body=js(
            {
                "order_no": "202311150800001234",
                "pay_password": "e10adc3949ba59abbe56e057f20f883e",
                "amount": "88.00",
            }
        ),
        labels=[label(CRED, "e10adc3949ba59abbe56e057f20f883e", "body/json:$.pay_password")],
    ),
    case(
        "hk-kyc",
        "https://www.immd.gov.hk/eng/services/hkic/ (HKID format with check digit)",
        "https://api.example-wallet.hk/v1/kyc",
        headers=JSON,
        body=js(
            {
                "document_type": "HKID",
                "document_number": "A123456(3)",
                "full_name": "CHAN Tai Man",
                "nationality": "CHN",
            }
        ),
        labels=[
            label("government_id", "A123456(3)", "body/json:$.document_number"),
            label("contact.name", "CHAN Tai Man", "body/json:$.full_name"),
        ],
    ),
    case(
        "flight-passenger-passport",
        "https://developers.amadeus.com/self-service/category/flights/api-doc/flight-create-orders (travelers, documents)",
        "https://test.api.amadeus.com/v1/booking/flight-orders",
        headers=JSON,
        body=js(
            {
                "travelers": [
                    {
                        "id": "1",
                        "dateOfBirth": "1982-01-16",
                        "name": {"firstName": "JORGE", "lastName": "GONZALES"},
                        "contact": {
                            "emailAddress": "jorge.gonzales833@telefonica.es",
                            "phones": [{"countryCallingCode": "34", "number": "480080076"}],
                        },
                        "documents": [
                            {
                                "documentType": "PASSPORT",
                                "number": "00000000",
                                "passportNumber": "X9876543",
                                "expiryDate": "2031-04-14",
                                "issuanceCountry": "ES",
                            }
                        ],
                    }
                ]
            }
        ),
        labels=[
            label("contact.name", "JORGE", "body/json:$.travelers[0].name.firstName"),
            label("contact.name", "GONZALES", "body/json:$.travelers[0].name.lastName"),
            label(
                "contact.email",
                "jorge.gonzales833@telefonica.es",
                "body/json:$.travelers[0].contact.emailAddress",
            ),
            label(
                "government_id", "X9876543", "body/json:$.travelers[0].documents[0].passportNumber"
            ),
        ],
    ),
    case(
        "talkingdata-applist",
        "https://www.talkingdata.com/privacy.jsp (TalkingData SDK: installed app list)",
        "https://api.talkingdata.com/g/d",
        headers=JSON,
        body=js(
            {
                "appList": [
                    "com.tencent.mm",
                    "com.eg.android.AlipayGphone",
                    "com.sina.weibo",
                    "com.ss.android.ugc.aweme",
                    "com.xingin.xhs",
                ],
                "deviceId": "b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5",
            }
        ),
        labels=[
            label("installed_apps", "5 packages", "body/json:$.appList[0]"),
            label("identifiers.device", "b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5", "body/json:$.deviceId"),
        ],
    ),
    case(
        "connected-wifi-report",
        "https://developer.android.com/reference/android/net/wifi/WifiInfo (getSSID, getBSSID, getRssi)",
        "https://api.example-wallet.cn/v1/risk/env",
        headers=JSON,
        body=js(
            {
                "ssid": '"HomeNet"',
                "bssid": "3c:37:86:5d:75:d4",
                "wifi_rssi": -45,
                "ip": "192.168.1.23",
                "ts": 1700000000,
            }
        ),
        labels=[
            label("network.wifi", '"HomeNet"', "body/json:$.ssid"),
            label("network.wifi", "3c:37:86:5d:75:d4", "body/json:$.bssid"),
            label("network.ip", "192.168.1.23", "body/json:$.ip"),
        ],
    ),
    case(
        "risk-sdk-device-env",
        "https://github.com/nicholasgasior/android-device-fingerprinting (attributes risk SDKs read: boot time, memory, battery, root)",
        "https://api.example-wallet.cn/v1/risk/device",
        headers=JSON,
        body=js(
            {
                "env": {
                    "model": "SM-G9910",
                    "brand": "samsung",
                    "os_version": "12",
                    "screen": "1080x2400",
                    "boot_time": "1699990000123",
                    "total_memory": "7823451136",
                    "total_storage": "118111600640",
                    "battery_level": "87",
                    "kernel_version": "5.4.61-android11-9-00794-g6d8e2f1",
                    "is_root": "0",
                    "is_emulator": "0",
                }
            }
        ),
        labels=[label("device_fingerprint", "11 attributes", "body/json:$.env.model")],
    ),
    case(
        "recent-searches-sync",
        "https://developer.android.com/reference/android/provider/SearchRecentSuggestions (recent queries)",
        "https://api.example-wallet.com/v1/user/search-history",
        headers=JSON,
        body=js(
            {"recent_searches": ["vpn", "loan without credit check", "casino"], "device": "android"}
        ),
        labels=[
            label("search_history", "vpn", "body/json:$.recent_searches[0]"),
            label("search_history", "loan without credit check", "body/json:$.recent_searches[1]"),
            label("search_history", "casino", "body/json:$.recent_searches[2]"),
        ],
    ),
    case(
        "kyc-passport-object",
        "https://docs.stripe.com/api/identity/verification_reports/object (document: number, type, expiration)",
        "https://api.example-wallet.com/v1/kyc/document",
        headers=JSON,
        body=js(
            {
                "document": {
                    "type": "passport",
                    "number": "C01X00T47",
                    "issuing_country": "DE",
                    "expiration_date": {"day": 1, "month": 1, "year": 2031},
                }
            }
        ),
        labels=[label("government_id", "C01X00T47", "body/json:$.document.number")],
    ),
    case(
        "selfie-data-uri",
        "https://developer.mozilla.org/en-US/docs/Web/URI/Schemes/data (a photo sent inline)",
        "https://api.example-wallet.com/v1/kyc/selfie",
        headers=JSON,
        body=js(
            {
                "selfie": "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDAoUDAsLDBkSEw8U",
                "liveness_score": 0.97,
            }
        ),
        labels=[
            label(
                "user_content",
                "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDAoUDAsLDBkS",
                "body/json:$.selfie",
            )
        ],
    ),
]

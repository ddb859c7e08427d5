"""Location services: Amap (AutoNavi), Baidu Maps, Tencent Location, Google Maps Platform,
Mozilla Location Service, and SDK location reports in msgpack and protobuf."""

from __future__ import annotations

from tests.corpus.build import FORM, JSON, Case, case, form, js, label, packed, pb

AMAP_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
BAIDU_AK = "E4805d16520de693a3fe707cdc962045"
QQ_KEY = "OB4BZ-D4W3U-B7VVO-4PJWW-6TKDJ-WPB77"
GOOGLE_KEY = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"
PRECISE = "location.precise"
COARSE = "location.coarse"
CELL = "network.cell"
WIFI = "network.wifi"
DEV = "identifiers.device"

CASES: list[Case] = [
    case(
        "amap-regeo",
        "https://lbs.amap.com/api/webservice/guide/api/georegeo",
        f"https://restapi.amap.com/v3/geocode/regeo?output=json&location=116.481488,39.990464&key={AMAP_KEY}&radius=1000&extensions=all",
        method="GET",
        labels=[label(PRECISE, "39.990464,116.481488", "url/query:location")],
    ),
    case(
        "amap-inputtips",
        "https://lbs.amap.com/api/webservice/guide/api/inputtips",
        f"https://restapi.amap.com/v3/assistant/inputtips?keywords=%E8%82%AF%E5%BE%B7%E5%9F%BA&type=050301&location=116.481488,39.990464&city=%E5%8C%97%E4%BA%AC&datatype=all&key={AMAP_KEY}",
        method="GET",
        labels=[
            label("search_history", "肯德基", "url/query:keywords"),
            label(PRECISE, "39.990464,116.481488", "url/query:location"),
            label(COARSE, "北京", "url/query:city"),
        ],
    ),
    case(
        "amap-place-text",
        "https://lbs.amap.com/api/webservice/guide/api/search",
        f"https://restapi.amap.com/v3/place/text?keywords=%E5%8C%97%E4%BA%AC%E5%A4%A7%E5%AD%A6&city=beijing&offset=20&page=1&key={AMAP_KEY}&extensions=all",
        method="GET",
        labels=[
            label("search_history", "北京大学", "url/query:keywords"),
            label(COARSE, "beijing", "url/query:city"),
        ],
    ),
    case(
        "amap-ip-location",
        "https://lbs.amap.com/api/webservice/guide/api/ipconfig",
        f"https://restapi.amap.com/v3/ip?ip=114.247.50.2&output=json&key={AMAP_KEY}",
        method="GET",
        labels=[label("network.ip", "114.247.50.2", "url/query:ip")],
    ),
    case(
        "amap-weather-adcode",
        "https://lbs.amap.com/api/webservice/guide/api/weatherinfo",
        f"https://restapi.amap.com/v3/weather/weatherInfo?city=110101&extensions=base&key={AMAP_KEY}",
        method="GET",
        labels=[label(COARSE, "110101", "url/query:city")],
    ),
    case(
        "amap-hardware-location-cell",
        "https://lbs.amap.com/api/webservice/guide/api/hardware-location (accesstype, imei, imsi, tel, bts, nearbts)",
        "https://apilocate.amap.com/position?accesstype=0&imei=490154203237518&cdma=0"
        "&imsi=460001234567890&network=GSM&tel=13812345678&bts=460,01,40977,2205409,-65"
        "&nearbts=460,01,40977,2205410,-70|460,01,40977,2205411,-72&output=json"
        f"&key={AMAP_KEY}",
        method="GET",
        labels=[
            label(DEV, "490154203237518", "url/query:imei"),
            label(DEV, "460001234567890", "url/query:imsi"),
            label("contact.phone", "13812345678", "url/query:tel"),
            label(CELL, "460,01,40977,2205409,-65", "url/query:bts"),
            label(CELL, "460,01,40977,2205410,-70|460,01,40977,2205411,-72", "url/query:nearbts"),
        ],
    ),
    case(
        "amap-hardware-location-wifi",
        "https://lbs.amap.com/api/webservice/guide/api/hardware-location (macs, mmac, smac)",
        "https://apilocate.amap.com/position?accesstype=1&imei=353325101234569"
        "&macs=3c:37:86:5d:75:d4,-35,HomeNet|30:86:2d:c4:29:d0,-57,CMCC-5G|f0:b4:29:77:12:3a,-71,"
        "&mmac=3c:37:86:5d:75:d4,-35,HomeNet&smac=a4:5e:60:c2:1f:0b&serverip=10.0.0.1"
        f"&output=json&key={AMAP_KEY}",
        method="GET",
        labels=[
            label(DEV, "353325101234569", "url/query:imei"),
            label(
                WIFI,
                "3c:37:86:5d:75:d4,-35,HomeNet|30:86:2d:c4:29:d0,-57,CMCC-5G",
                "url/query:macs",
            ),
            label(WIFI, "3c:37:86:5d:75:d4,-35,HomeNet", "url/query:mmac"),
            label(DEV, "a4:5e:60:c2:1f:0b", "url/query:smac"),
        ],
    ),
    case(
        "baidu-reverse-geocoding",
        "https://lbsyun.baidu.com/faq/api?title=webapi/guide/webservice-geocoding-abroad",
        f"https://api.map.baidu.com/reverse_geocoding/v3/?ak={BAIDU_AK}&output=json&coordtype=wgs84ll&location=31.225696563611,121.49884033194",
        method="GET",
        labels=[label(PRECISE, "31.225696563611,121.49884033194", "url/query:location")],
    ),
    case(
        "baidu-place-search",
        "https://lbsyun.baidu.com/faq/api?title=webapi/guide/webservice-placeapi",
        f"https://api.map.baidu.com/place/v2/search?query=ATM%E6%9C%BA&tag=%E9%93%B6%E8%A1%8C&region=%E5%8C%97%E4%BA%AC&output=json&ak={BAIDU_AK}",
        method="GET",
        labels=[label("search_history", "ATM机", "url/query:query")],
    ),
    case(
        "baidu-ip-location",
        "https://lbsyun.baidu.com/faq/api?title=webapi/ip-api",
        f"https://api.map.baidu.com/location/ip?ak={BAIDU_AK}&ip=111.206.214.37&coor=bd09ll",
        method="GET",
        labels=[label("network.ip", "111.206.214.37", "url/query:ip")],
    ),
    case(
        "baidu-hardware-location",
        "https://lbsyun.baidu.com/faq/api?title=webapi/intel-hardware-api (imei, macs, bts)",
        "https://api.map.baidu.com/locapi/v2",
        headers=JSON,
        body=js(
            {
                "ver": "1.0",
                "trace": False,
                "prod": "test_loc_api",
                "src": "baidu_loc_api",
                "key": BAIDU_AK,
                "body": [
                    {
                        "imei": "860123456789014",
                        "accesstype": 1,
                        "macs": "3c:37:86:5d:75:d4,-35,HomeNet|30:86:2d:c4:29:d0,-57,",
                        "bts": "460,0,4189,7869,-70",
                        "ctime": "1700000000",
                        "need_rgc": "Y",
                    }
                ],
            }
        ),
        labels=[
            label(DEV, "860123456789014", "body/json:$.body[0].imei"),
            label(
                WIFI,
                "3c:37:86:5d:75:d4,-35,HomeNet|30:86:2d:c4:29:d0,-57,",
                "body/json:$.body[0].macs",
            ),
            label(CELL, "460,0,4189,7869,-70", "body/json:$.body[0].bts"),
        ],
    ),
    case(
        "tencent-geocoder",
        "https://lbs.qq.com/service/webService/webServiceGuide/webServiceGcoder",
        f"https://apis.map.qq.com/ws/geocoder/v1/?location=39.984154,116.307490&key={QQ_KEY}&get_poi=1",
        method="GET",
        labels=[label(PRECISE, "39.984154,116.307490", "url/query:location")],
    ),
    case(
        "tencent-suggestion",
        "https://lbs.qq.com/service/webService/webServiceGuide/webServiceSuggestion",
        f"https://apis.map.qq.com/ws/place/v1/suggestion?keyword=%E7%BE%8E%E9%A3%9F&region=%E5%8C%97%E4%BA%AC&key={QQ_KEY}",
        method="GET",
        labels=[label("search_history", "美食", "url/query:keyword")],
    ),
    case(
        "google-geolocation",
        "https://developers.google.com/maps/documentation/geolocation/requests-geolocation",
        f"https://www.googleapis.com/geolocation/v1/geolocate?key={GOOGLE_KEY}",
        headers=JSON,
        body=js(
            {
                "homeMobileCountryCode": 310,
                "homeMobileNetworkCode": 410,
                "radioType": "gsm",
                "carrier": "Vodafone",
                "considerIp": True,
                "cellTowers": [
                    {
                        "cellId": 42,
                        "locationAreaCode": 415,
                        "mobileCountryCode": 310,
                        "mobileNetworkCode": 410,
                        "age": 0,
                        "signalStrength": -60,
                        "timingAdvance": 15,
                    }
                ],
                "wifiAccessPoints": [
                    {
                        "macAddress": "3c:37:86:5d:75:d4",
                        "signalStrength": -35,
                        "signalToNoiseRatio": 0,
                    },
                    {
                        "macAddress": "30:86:2d:c4:29:d0",
                        "signalStrength": -57,
                        "signalToNoiseRatio": 0,
                    },
                ],
            }
        ),
        labels=[
            label(CELL, "415,42", "body/json:$.cellTowers[0].locationAreaCode"),
            label(WIFI, "3c:37:86:5d:75:d4", "body/json:$.wifiAccessPoints[0].macAddress"),
            label(WIFI, "30:86:2d:c4:29:d0", "body/json:$.wifiAccessPoints[1].macAddress"),
        ],
    ),
    case(
        "google-reverse-geocode",
        "https://developers.google.com/maps/documentation/geocoding/requests-reverse-geocoding",
        f"https://maps.googleapis.com/maps/api/geocode/json?latlng=40.714224,-73.961452&key={GOOGLE_KEY}",
        method="GET",
        labels=[label(PRECISE, "40.714224,-73.961452", "url/query:latlng")],
    ),
    case(
        "google-places-autocomplete",
        "https://developers.google.com/maps/documentation/places/web-service/autocomplete",
        "https://maps.googleapis.com/maps/api/place/autocomplete/json?input=Amoeba+Music"
        f"&location=37.76999,-122.44696&radius=500&key={GOOGLE_KEY}",
        method="GET",
        labels=[
            label("search_history", "Amoeba Music", "url/query:input"),
            label(PRECISE, "37.76999,-122.44696", "url/query:location"),
        ],
    ),
    case(
        "mozilla-geosubmit",
        "https://ichnaea.readthedocs.io/en/latest/api/geosubmit2.html",
        "https://location.services.mozilla.com/v2/geosubmit?key=test",
        headers=JSON,
        body=js(
            {
                "items": [
                    {
                        "timestamp": 1700000000000,
                        "position": {
                            "latitude": 51.503363,
                            "longitude": -0.127625,
                            "accuracy": 10.0,
                            "source": "gps",
                        },
                        "cellTowers": [
                            {
                                "radioType": "lte",
                                "mobileCountryCode": 234,
                                "mobileNetworkCode": 30,
                                "locationAreaCode": 2,
                                "cellId": 12345,
                                "primaryScramblingCode": 5,
                                "signalStrength": -51,
                            }
                        ],
                        "wifiAccessPoints": [
                            {
                                "macAddress": "01:23:45:67:89:ab",
                                "ssid": "network1",
                                "signalStrength": -51,
                            }
                        ],
                    }
                ]
            }
        ),
        labels=[
            label(PRECISE, "51.503363,-0.127625", "body/json:$.items[0].position.latitude"),
            label(CELL, "2,12345", "body/json:$.items[0].cellTowers[0].locationAreaCode"),
            label(WIFI, "01:23:45:67:89:ab", "body/json:$.items[0].wifiAccessPoints[0].macAddress"),
            label(WIFI, "network1", "body/json:$.items[0].wifiAccessPoints[0].ssid"),
        ],
    ),
    case(
        "sdk-location-msgpack",
        "https://github.com/msgpack/msgpack/blob/master/spec.md (MessagePack) with Sensors Data "
        "location field names",
        "https://collect.example-wallet.cn/v1/loc",
        headers={"Content-Type": "application/x-msgpack"},
        body=packed(
            {
                "device_id": "b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5",
                "ts": 1700000000123,
                "loc": {"lat": 22.543099, "lng": 114.057868, "acc": 12.5, "provider": "gps"},
            }
        ),
        labels=[
            label(DEV, "b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5", "body/msgpack:$.device_id"),
            label(PRECISE, "22.543099,114.057868", "body/msgpack:$.loc.lat"),
        ],
    ),
    case(
        "sdk-location-protobuf",
        "https://protobuf.dev/programming-guides/encoding/ (wire format; a location report with "
        "double coordinates)",
        "https://collect.example-wallet.cn/v1/pb/loc",
        headers={"Content-Type": "application/x-protobuf"},
        body=pb(
            (1, "b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5"),
            (2, 1700000000123),
            (3, [(1, 31.230416), (2, 121.473701), (3, 12.5)]),
            (4, "+8613812345678"),
        ),
        labels=[
            label(PRECISE, "31.230416,121.473701", "body/protobuf:$.3.1"),
            label("contact.phone", "+8613812345678", "body/protobuf:$.4"),
        ],
    ),
    case(
        "umeng-location-form",
        "https://www.umeng.com/page/policy (location: latitude, longitude; Wi-Fi)",
        "https://ulogs.umeng.com/unify_logs",
        headers=FORM,
        body=form(
            [
                ("lat", "22.5431"),
                ("lng", "114.0579"),
                ("ssid", "CMCC-5G"),
                ("bssid", "30:86:2d:c4:29:d0"),
                ("access", "wifi"),
            ]
        ),
        labels=[
            label(PRECISE, "22.5431,114.0579", "body/form:lat"),
            label(WIFI, "CMCC-5G", "body/form:ssid"),
            label(WIFI, "30:86:2d:c4:29:d0", "body/form:bssid"),
        ],
    ),
]

"""Reading key names as evidence: what a field is called says what it probably holds.

Keys arrive lowercased, so ``deviceId`` and ``device_id`` differ only in punctuation;
``normalized`` drops it, ``tokens`` splits on it. ``kinds`` maps a key to the kinds of
data its name announces, in English, pinyin and Chinese (``shouji``, ``手机号``, ``dizhi``,
``经度``). Every function here is cached: SDK payloads repeat the same few hundred keys, so
a key is read once and then costs a dictionary look-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

_SEPARATORS: Final = re.compile(r"[\W_]+")

# Keys whose values are times, counters or opaque ids: digit runs there are not personal data.
_TIME_OR_ID_PARTS: Final = ("time", "stamp", "date", "expire", "nonce", "order", "trade",
                            "trace", "serial", "seq", "txn", "transaction", "request", "session",
                            "sign", "version", "amount", "price", "build", "crc",
                            "checksum", "hash", "md5", "sha", "nonstr", "duration", "size",
                            "length", "offset", "total", "fee", "batch", "event", "msgid")  # fmt: skip
_TIME_OR_ID_TOKENS: Final = frozenset({"ts", "t", "id", "ids", "no", "sn", "tid", "rid", "mid",
                                       "uid", "pid", "cid", "num", "code", "v", "ver", "seq",
                                       "ms", "r", "rand", "random", "_", "n", "idx", "index",
                                       "count", "cnt"})  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Rule:
    parts: tuple[str, ...] = ()  # substrings of the normalized key
    names: frozenset[str] = frozenset()  # whole normalized keys
    words: frozenset[str] = frozenset()  # whole tokens
    unless: tuple[str, ...] = ()  # substrings that veto the kind


def _rule(parts: str = "", names: str = "", words: str = "", unless: str = "") -> _Rule:
    return _Rule(
        tuple(parts.split()), frozenset(names.split()), frozenset(words.split()),
        tuple(unless.split()),
    )  # fmt: skip


# Kind -> how keys announce it. Parts are matched inside the normalized key, names against
# the whole normalized key, words against single tokens.
_RULES: Final[dict[str, _Rule]] = {
    "phone": _rule(
        "phone mobile msisdn shouji 手机 电话 dianhua cellphone telephone 联系方式 lianxifangshi",
        "tel telno telnum mob sjh sjhm phoneno mobileno ph line1number",
        "tel telno mob sjh",
        "model brand type maker vendor os version phonebook phonelist",
    ),
    "email": _rule("email mail 邮箱 youxiang", "em", "", "mailbox mailer"),
    "person_name": _rule(
        "realname fullname truename firstname lastname givenname familyname surname middlename "
        "holdername cardholder ownername customername customernm certname payername payeename "
        "receivername consigneename contactname accountname personname legalname shoppername "
        "姓名 名字 收件人 收货人 联系人 持卡人 户名 xingming zhenshixingming shoujianren",
        "holder accountholder",
        "",
        "app device package pkg event file host model brand sdk carrier network wifi ssid "
        "bundle product goods item merchant shop store company org channel class method "
        "font screen domain server field param tag page activity title category lib process "
        "country province district street region nick user login display bankname bankbranch",
    ),
    "address": _rule(
        "address addr street dizhi 地址 住址 地点 门牌 line1 line2 housenumber",
        "",
        "",
        "ipaddr ipaddress ipv macaddr macaddress hwaddr email remoteaddr localaddr serveraddr "
        "hostaddr bluetoothaddr btaddr wifiaddr walletaddr addressbook contractaddr bssid "
        "addrtype addresstype",
    ),
    "place": _rule(
        "城市 省份 区县 所在地 定位城市",
        "city cityname province provincename district county adcode citycode currentcity "
        "locationcity geocity usercity cityid provinceid",
        "city province district",
        "address addr billing shipping delivery bill ship street zip",
    ),
    "imei": _rule("imei 国际移动设备", "", "", ""),
    "imsi": _rule("imsi subscriberid", "", "", ""),
    "iccid": _rule("iccid simserial simsn", "", "", ""),
    "meid": _rule("meid", "", "", ""),
    "android_id": _rule("androidid ssaid hardwareid", "andi", "", ""),
    "mac": _rule(
        "macaddr macaddress wifimac wlanmac localmac btmac bluetoothmac devicemac ethmac hwaddr",
        "mac mc smac",
        "mac",
        "hmac macos machine",
    ),
    "bssid": _rule("bssid apmac routermac gatewaymac connectedwifimac", "", "", ""),
    "ssid": _rule("ssid wifiname wifi名称", "", "", "bssid"),
    "device_id": _rule(
        "deviceid devid udid utdid cuid umid idfv installationid installid instanceid "
        "registrationid regid pushtoken devicetoken pushid deviceuuid vaid "
        "设备id 设备号 设备标识 anonymousid shebei appsflyerid androiduuid anonid",
        "uuid fid did guid gcmid fcmtoken idmd5 muid cid iid qimei qimei36 asid tdid serial "
        "serialno sn buildserial deviceserial hardwareserial serialnumber",
        "",
        "request trace session",
    ),
    "advertising": _rule(
        "gaid idfa oaid aaid advertisingid googleadid gpsadid advertiserid adsid adtrackingid",
        "adid ifa advid madid aifa",
        "",
        "",
    ),
    "user_id": _rule(
        "userid accountid memberid customerid custid customeruserid loginid openid unionid "
        "alipayuserid buyerid buyeruserid payeruserid distinctid useraccount loginname username "
        "nickname screenname shopperreference externaluserid userno 用户id 用户名 账号 昵称 "
        "yonghu fromaccount toaccount",
        "uid user account acct login nick userkey usercode",
        "uid",
        "request trace session order trade device idcard",
    ),
    "card": _rule(
        "card 卡号 ccnum ccno kahao accno acctno",
        "pan cc ccn",
        "pan cc ccn",
        "cardtype cardbrand cardcount wildcard cardholder cardname cardview",
    ),
    "cvv": _rule("cvv cvc cvn securitycode 安全码", "", "", ""),
    "bank_account": _rule(
        "iban bankaccount accountnumber acctnumber 银行账号 银行卡 银行账户 bankcard yinhangka "
        "routingnumber sortcode 账户号 debitaccount",
        "acct accno acctno",
        "",
        "",
    ),
    "money": _rule(
        "balance 余额 salary income 收入 工资 creditscore zmscore zhimafen 芝麻分 信用分 "
        "creditlimit 额度 loanamount 贷款 debt 负债 assets 资产 networth yuebao 余额宝 "
        "creditrating monthlyincome annualincome availableamount freezeamount",
        "",
        "",
        "min max threshold rate required",  # a product's terms, not the person's finances
    ),
    "gov_id": _rule(
        "idcard idnumber certno certifid identitycard identityno identitynumber "
        "shenfenzheng sfz 身份证 证件号 citizenid nationalid ssn socialsecurity passport "
        "护照 driverlicense driverslicense 驾驶证 taxid residentid idno",
        "",
        "",
        "certtype certifp certifytype idtype",
    ),
    "health": _rule(
        "steps stepcount bushu 步数 heartrate xinlv 心率 restingheartrate sleepduration "
        "minutesasleep sleepminutes deepsleep 睡眠 bloodpressure systolic diastolic 血压 "
        "bloodglucose bloodsugar 血糖 bloodoxygen spo2 血氧 bodytemperature 体温 menstrual "
        "pregnan medication diagnosis symptom 病历 health",
        "bpm hr",
        "",
        "healthcheck healthz healthy",
    ),
    "apps": _rule(
        "applist installedapp installedpackage packagelist pkglist pkgs apps appinfos "
        "安装列表 应用列表 runningapp",
        "",
        "",
        "",
    ),
    "search": _rule(
        "keyword searchkey searchword searchterm searchtext searchquery sousuo 搜索 关键词 "
        "关键字 querytext searchhistory recentsearch searches searchrecord",
        "",
        "",
        "hot trend recommend popular rank 热门 热搜",  # what everyone searches, not the person
    ),
    "search_weak": _rule("", "q query wd kw word input text keywords", "", ""),
    "history": _rule(
        "history visited browse 浏览 足迹 histuri visiturl visits visitrecord recentpage "
        "viewhistory",
        "",
        "",
        "",
    ),
    "content": _rule(
        "comment feedback remark memo chatmessage chatcontent review postscript usernote "
        "备注 留言 评论 反馈 附言 聊天 beizhu liuyan fuyan pinglun fankui",
        "note notes",
        "",
        "",
    ),
    "content_weak": _rule("", "content message text msg body", "", ""),
    "ip": _rule(
        "ipaddr ipv4 ipv6 clientip localip userip deviceip publicip wifiip createip "
        "forwardedfor realip shopperip customerip payerip",
        "ip",
        "ip",
        "server host dns gateway proxy cdn",
    ),
    "password": _rule(
        "password passwd pwd passcode paypin 密码 mima",
        "pin",
        "pin",
        "pwdstrength passwordpolicy haspassword hint label placeholder title tip policy rule "
        "strength length format regex pattern expire reset forgot",
    ),
    "token": _rule(
        "accesstoken refreshtoken authtoken idtoken sessiontoken logintoken usertoken "
        "authorization xauthtoken oauthtoken",
        "token jwt ticket",
        "",
        "push device csrf xsrf fcm gcm apns",
    ),
    "otp": _rule("smscode verifycode verificationcode otp 验证码", "", "", "captcha"),
    "name": _rule("", "name nm 名称 mingcheng displayname username 用户名", "name", ""),
    "geo": _rule(
        "latitude longitude 经纬度 坐标 location coordinate latlng lnglat latlon lonlat 纬度 经度 "
        "weidu jingdu lat lng lon",
        "",
        "lat lng lon long lati longi loc gps geo position pos point coord coords",
        "",
    ),
    "cell": _rule(
        "bts cell 基站 jizhan basestation tower locationareacode trackingareacode",
        "lac tac lacid cid ci eci nci ecgi bid bsid",
        "",
        "",
    ),
    "fp_attr": _rule(
        "boottime uptime elapsedrealtime totalmemory totalram ramsize memtotal totalstorage "
        "disksize romsize totaldisk battery kernel baseband sensor root jailbreak emulator "
        "simulator hook xposed frida bootloader radioversion cpuinfo cpufreq fonts "
        "brightness buildtime incremental btl adb vpn charging installtime serial debug proxy "
        "volume buildid fingerprint usb macs",
        "",
        "",
        "",
    ),
    "health_context": _rule(
        "health fitness sport werun step heart sleep workout 运动 健康",
        "",
        "",
        "healthcheck",
    ),
    "fingerprint": _rule(
        "fingerprint apdid umidtoken blackbox riskdata risktoken devicedata "
        "devicesessionid clientdata 设备指纹 fraudsessionid",
        "",
        "",
        "cert ssl tls key sha pubkey hash",
    ),
}
# Developer credentials and per-request values: never a person's data.
_APP_SECRETS: Final = ("appkey", "appsecret", "apikey", "apisecret", "clientsecret", "secretkey",
                       "accesskey", "mchkey", "signkey")  # fmt: skip


def normalized(key: str) -> str:
    """``device_id``, ``device-id`` and ``deviceid`` all become ``deviceid``."""
    return _normalized(key)


@lru_cache(maxsize=8192)
def _normalized(key: str) -> str:
    return _SEPARATORS.sub("", key)


@lru_cache(maxsize=8192)
def tokens(key: str) -> tuple[str, ...]:
    """``x-user_lat`` becomes ``("x", "user", "lat")``."""
    return tuple(t for t in _SEPARATORS.split(key) if t)


def mentions(key: str, parts: tuple[str, ...]) -> bool:
    """True when the normalized key contains one of ``parts``."""
    flat = _normalized(key)
    return any(part in flat for part in parts)


@lru_cache(maxsize=8192)
def is_time_or_id_key(key: str) -> bool:
    """Keys such as ts, timestamp, order_id, nonce, trace_id, seq."""
    words = tokens(key)
    flat = _normalized(key)
    return (
        key in _TIME_OR_ID_TOKENS
        or any(word in _TIME_OR_ID_TOKENS for word in words)
        or mentions(key, _TIME_OR_ID_PARTS)
        or (flat.endswith("count") and not flat.endswith("account"))
    )


@lru_cache(maxsize=8192)
def kinds(key: str) -> frozenset[str]:
    """Every kind of data the key's name announces (see ``_RULES``)."""
    flat = _normalized(key)
    if not flat or any(secret in flat for secret in _APP_SECRETS):
        return frozenset()
    words = frozenset(tokens(key))
    found = set()
    for kind, rule in _RULES.items():
        hit = (
            flat in rule.names
            or any(part in flat for part in rule.parts)
            or bool(rule.words & words)
        )
        if hit and not any(veto in flat for veto in rule.unless):
            found.add(kind)
    return frozenset(found)


def has_kind(key: str, kind: str) -> bool:
    """Shorthand for ``kind in kinds(key)``."""
    return kind in kinds(key)

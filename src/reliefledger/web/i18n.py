"""The dashboard's words in Simplified Chinese (the default) and English.

A page asks ``get_language(request)``: ``?lang=en`` or ``?lang=zh`` switches and is remembered in a
cookie; otherwise the cookie, otherwise Chinese.
"""

from typing import Any

LANGUAGES = ("zh", "en")
COOKIE = "reliefledger_lang"

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "shared": "数据共享记录（核对查询的应答）", "receipt": "回执", "beneficiary": "群众 / 商户", "my_applications": "我的申请",
        "payments_received": "收到的款项", "wallet_balance": "钱包余额（元）", "spending": "消费", "who_read": "谁查询了我的数据", "amount": "金额（元）",
        "pick_household": "选择一户（演示）", "pick_merchant": "选择商户（演示）", "takings_today": "今日收款（元）", "balance": "余额（元）",
        "monthly_benefit": "月救助金（元）",
        "cases": "个案队列", "directory": "目录链", "departments": "部门", "resources": "数据目录", "requests": "共享申请", "permissions": "有效授权",
        "accesses": "个人数据访问记录", "status": "状态", "owner": "所属部门", "requester": "申请方", "fields": "字段", "purpose": "用途", "reader": "读取人",
        "next_deadline": "下一时限", "overdue": "已超时", "case": "个案", "kind": "类型", "expires": "有效期至",
        "title": "社会救助链", "overview": "总览", "ledger": "账本浏览", "reports": "问题报告", "switch": "English",
        "height": "区块高度", "transactions": "交易", "state_digest": "状态摘要", "time": "时间", "block": "区块",
        "assisted": "在册救助对象（按项目）", "paid": "已发放资金（元）", "reports_by_category": "问题报告（按类别）",
        "open": "未办结", "escalations": "升级次数", "filed": "受理", "resolved": "已办结", "region": "地区", "category": "类别",
        "peers": "节点一致性", "organisation": "机构", "agrees_up_to": "一致至高度", "diverged_at": "分歧高度", "none": "无",
        "latest_blocks": "最新区块", "orderer": "排序方", "results": "结果", "hash": "哈希", "level": "层级",
        "mean_acknowledge_hours": "平均签收（小时）", "mean_resolve_hours": "平均办结（小时）", "solo": "单节点（内嵌排序）",
        "programme": "项目", "households": "户数", "wallet": "数字人民币钱包", "bank": "银行账户", "not_found": "未找到",
        "person_in_difficulty": "困难人员", "service_failure": "服务问题", "fund_problem": "资金问题", "misconduct": "作风问题",
        "dibao": "最低生活保障", "tekun": "特困供养", "temporary": "临时救助", "education": "教育救助", "medical": "医疗救助",
    },
    "en": {
        "shared": "Data shared (answered means-test queries)", "receipt": "receipt", "beneficiary": "People / merchants",
        "my_applications": "My applications", "payments_received": "Payments received", "wallet_balance": "Wallet balance (yuan)", "spending": "Spending",
        "who_read": "Who read data about me", "amount": "Amount (yuan)", "pick_household": "Pick a household (demo)", "pick_merchant": "Pick a merchant (demo)",
        "takings_today": "Today's takings (yuan)", "balance": "Balance (yuan)", "monthly_benefit": "Monthly benefit (yuan)",
        "cases": "Case queue", "directory": "Directory chain", "departments": "Departments", "resources": "Data catalogue", "requests": "Sharing requests",
        "permissions": "Permissions in force", "accesses": "Reads of personal data", "status": "Status", "owner": "Owner", "requester": "Requester",
        "fields": "Fields", "purpose": "Purpose", "reader": "Reader", "next_deadline": "Next deadline", "overdue": "Overdue", "case": "Case", "kind": "Kind",
        "expires": "Expires",
        "title": "ReliefLedger", "overview": "Overview", "ledger": "Ledger", "reports": "Reports", "switch": "中文",
        "height": "Height", "transactions": "Transactions", "state_digest": "State digest", "time": "Time", "block": "Block",
        "assisted": "Enrolled cases by programme", "paid": "Money paid (yuan)", "reports_by_category": "Reports by category",
        "open": "Open", "escalations": "Escalations", "filed": "Filed", "resolved": "Resolved", "region": "Region", "category": "Category",
        "peers": "Peer agreement", "organisation": "Organisation", "agrees_up_to": "Agrees up to", "diverged_at": "Diverged at", "none": "none",
        "latest_blocks": "Latest blocks", "orderer": "Orderer", "results": "Results", "hash": "Hash", "level": "Level",
        "mean_acknowledge_hours": "Mean hours to acknowledge", "mean_resolve_hours": "Mean hours to resolve", "solo": "single node (embedded ordering)",
        "programme": "Programme", "households": "Households", "wallet": "Digital-currency wallet", "bank": "Bank account", "not_found": "Not found",
        "person_in_difficulty": "Person in difficulty", "service_failure": "Service failure", "fund_problem": "Fund problem", "misconduct": "Misconduct",
        "dibao": "Minimum living guarantee", "tekun": "Extreme poverty support", "temporary": "Temporary assistance", "education": "Education assistance",
        "medical": "Medical assistance",
    },
}


def get_language(query: str | None, cookie: str | None) -> str:
    """The page's language: the query's, else the cookie's, else Chinese."""
    for choice in (query, cookie):
        if choice in LANGUAGES:
            return choice
    return "zh"


def translate(language: str) -> Any:
    """A lookup that falls back to the key itself (a programme or category the table lacks)."""
    table = TEXT[language]
    return lambda key: table.get(key, key)

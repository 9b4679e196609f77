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
        "models_in_service": "在用模型与规则（账本登记）", "model": "模型", "version": "版本", "evaluation": "评估指标", "digests": "训练数据 / 参数摘要",
        "anomaly_rules": "异常规则", "discovery_model": "主动发现模型", "in_service": "在用", "retired": "已停用", "model_tasks": "模型提出的任务",
        "model_tasks_explained": "模型只提出任务，由人决定：每条告警或走访任务都是一份问题报告，由承办部门核实并记录结论和理由。",
        "holder": "承办", "follow": "跟踪", "report_filed": "已受理", "report_acknowledged": "已签收", "report_in_progress": "办理中", "report_resolved": "已办结",
        "cases_count": "个案数", "monthly_benefit_fen": "月救助金（分）", "from_kind": "付款方", "to_kind": "收款方", "amount_fen": "金额（分）",
        "investigation_met": "调查按时", "investigation_late": "调查超时", "decision_met": "审批按时", "decision_late": "审批超时",
        "whole_process_met": "全流程按时", "whole_process_late": "全流程超时", "agency": "部门", "answers": "应答数", "timed": "计时数",
        "median_ms": "中位数（毫秒）", "p90_ms": "90% 分位（毫秒）", "max_ms": "最长（毫秒）", "mean_hours_to_acknowledge": "平均签收（小时）",
        "mean_hours_to_resolve": "平均办结（小时）", "programme_budget": "项目预算", "beneficiary_wallet": "救助对象钱包",
        "beneficiary_bank_account": "救助对象银行账户", "merchant": "商户", "central_bank": "央行", "treasury": "国库", "township_reserve_fund": "乡镇备用金",
        "analytics": "数据分析", "analytics_exported": "分析库已导出至区块高度", "no_analytics": "尚未导出分析库：", "analytics_damaged": "分析库无法读取，请删除该目录后重新导出：",
        "analytics_coverage": "覆盖（按地区和项目）", "analytics_flows": "资金流向（预算 > 家庭 > 商户）", "analytics_timeliness": "时效（法定时限）",
        "analytics_agencies": "部门应答用时", "analytics_escalations": "问题报告与升级",
        "payments": "资金发放", "sign_in": "登录（演示）", "sign_out": "退出", "member_staff": "工作人员", "member_household": "家庭", "member_merchant": "商户",
        "staff": "工作人员", "signin_explained": "演示：选择城市中的任一成员并以其身份操作。真实部署中每人使用自己的密钥登录。",
        "no_demo_members": "本节点没有演示成员：页面为只读。真实部署中工作人员以自己的密钥通过柜台接口操作。",
        "refused": "被拒绝", "done_decided": "已作出决定", "done_paid": "已支付", "approve": "批准", "refuse": "不予批准",
        "household": "家庭", "deadlines": "法定时限", "deadline": "时限", "step": "步骤", "history": "办理记录", "signer": "签名人",
        "receipt_with_proofs": "回执与证明", "response_ms": "应答用时（毫秒）", "transfer": "转账", "month": "月份", "cases_due": "应发个案",
        "already_paid": "已发过", "not_paid": "未能发放", "pay_month": "发放本月救助金", "payment_runs": "月度发放记录",
        "accept_payment": "收款", "customer_wallet": "顾客钱包（扫码）", "take_payment": "确认收款",
        "deadlines_met": "法定时限达成情况", "met": "按时", "late": "超时", "pending": "未到期", "done_at": "完成时间", "transfer_posted": "已到账", "transfer_pending": "银行处理中",
        "transfer_voided": "已撤销", "transfer_expired": "已过期", "agency_response": "核对查询应答用时（按部门，毫秒）", "median": "中位数", "p90": "90% 分位",
        "deadline_investigation_start": "开始调查", "deadline_county_decision": "县级审批", "deadline_whole_process": "全流程", "deadline_refusal_notice": "不予批准告知",
        "deadline_review": "定期复核",
        "status_applied": "已申请", "status_investigating": "调查中", "status_assessed": "已核对", "status_opinion_given": "已提出意见", "status_in_notice": "公示中",
        "status_enrolled": "在册", "status_refused": "不予批准", "status_completed": "已完成", "status_paid_first": "先行救助", "status_stopped": "已停发",
        "status_exited": "已退出",
        "step_apply": "申请", "step_record_authorisation": "授权核对", "step_record_visit": "入户调查", "step_record_means_test": "家庭经济状况核对",
        "step_give_opinion": "乡镇意见", "step_start_notice": "公示", "step_object": "异议", "step_decide": "县级决定", "step_issue_refusal_notice": "不予批准告知",
        "step_change_benefit": "变更救助金", "step_exit_case": "退出", "step_open_review": "开启复核", "review_open": "复核进行中，开启于", "payments_held": "暂停发放", "reason_death_registered": "死亡登记", "reason_birth_registered": "出生登记", "step_record_fraud": "骗保认定", "step_pay_first": "先行救助",
        "role_caseworker": "经办员", "role_approver": "审批人", "role_finance_officer": "财务", "role_hotline_operator": "12349 热线", "role_report_handler": "问题办理",
        "role_policy_admin": "政策管理", "role_admin": "管理员", "role_analyst": "分析员",
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
        "models_in_service": "Models and rule sets (registered on the ledger)", "model": "Model", "version": "Version", "evaluation": "Evaluation",
        "digests": "Training data / parameters digest", "anomaly_rules": "Anomaly rules", "discovery_model": "Discovery model", "in_service": "In service",
        "retired": "Retired", "model_tasks": "Tasks the models raised",
        "model_tasks_explained": "Models only raise tasks; people decide: every alert or outreach visit is a report that the desk holding it checks and closes with its outcome and reasons.",
        "holder": "Held by", "follow": "follow", "report_filed": "Filed", "report_acknowledged": "Acknowledged", "report_in_progress": "In progress",
        "report_resolved": "Resolved",
        "cases_count": "Cases", "monthly_benefit_fen": "Monthly benefit (fen)", "from_kind": "Paid by", "to_kind": "Paid to", "amount_fen": "Amount (fen)",
        "investigation_met": "Investigation in time", "investigation_late": "Investigation late", "decision_met": "Decision in time", "decision_late": "Decision late",
        "whole_process_met": "Whole process in time", "whole_process_late": "Whole process late", "agency": "Agency", "answers": "Answers", "timed": "Timed",
        "median_ms": "Median (ms)", "p90_ms": "90th percentile (ms)", "max_ms": "Longest (ms)", "mean_hours_to_acknowledge": "Mean hours to acknowledge",
        "mean_hours_to_resolve": "Mean hours to resolve", "programme_budget": "Programme budget", "beneficiary_wallet": "Beneficiary wallet",
        "beneficiary_bank_account": "Beneficiary bank account", "merchant": "Merchant", "central_bank": "Central bank", "treasury": "Treasury",
        "township_reserve_fund": "Township reserve",
        "analytics": "Analytics", "analytics_exported": "Analytics store exported up to height", "no_analytics": "No analytics export yet:", "analytics_damaged": "The analytics store cannot be read; delete its folder and export again:",
        "analytics_coverage": "Coverage by region and programme", "analytics_flows": "Money flows (budget > household > merchant)",
        "analytics_timeliness": "Timeliness against statutory deadlines", "analytics_agencies": "Agency response times",
        "analytics_escalations": "Reports and escalations",
        "payments": "Payments", "sign_in": "Sign in (demo)", "sign_out": "Sign out", "member_staff": "Staff", "member_household": "Household", "member_merchant": "Merchant",
        "staff": "Staff", "signin_explained": "Demo: pick any member of the city and act as them. In a real deployment everyone signs in with their own key.",
        "no_demo_members": "This node has no demo members: its pages are read-only. In a real deployment staff act through the desk API with their own keys.",
        "refused": "Refused", "done_decided": "Decided", "done_paid": "Paid", "approve": "Approve", "refuse": "Refuse",
        "household": "Household", "deadlines": "Statutory deadlines", "deadline": "Deadline", "step": "Step", "history": "History", "signer": "Signer",
        "receipt_with_proofs": "receipt with proofs", "response_ms": "Reply time (ms)", "transfer": "Transfer", "month": "Month", "cases_due": "cases due",
        "already_paid": "already paid", "not_paid": "not paid", "pay_month": "Pay the month", "payment_runs": "Monthly payment runs",
        "accept_payment": "Take a payment", "customer_wallet": "Customer's wallet (scanned)", "take_payment": "Take payment",
        "deadlines_met": "Statutory deadlines met", "met": "In time", "late": "Late", "pending": "Not yet due", "done_at": "Done at", "transfer_posted": "Received", "transfer_pending": "With the bank",
        "transfer_voided": "Voided", "transfer_expired": "Expired", "agency_response": "Means-test reply time by agency (ms)", "median": "Median", "p90": "90th percentile",
        "deadline_investigation_start": "Investigation start", "deadline_county_decision": "County decision", "deadline_whole_process": "Whole process",
        "deadline_refusal_notice": "Refusal letter", "deadline_review": "Periodic review",
        "status_applied": "Applied", "status_investigating": "Investigating", "status_assessed": "Means-tested", "status_opinion_given": "Opinion given",
        "status_in_notice": "In public notice", "status_enrolled": "Enrolled", "status_refused": "Refused", "status_completed": "Completed",
        "status_paid_first": "Paid first", "status_stopped": "Stopped", "status_exited": "Exited",
        "step_apply": "Application", "step_record_authorisation": "Authorisation", "step_record_visit": "Home visit", "step_record_means_test": "Means test",
        "step_give_opinion": "Township opinion", "step_start_notice": "Public notice", "step_object": "Objection", "step_decide": "County decision",
        "step_issue_refusal_notice": "Refusal letter", "step_change_benefit": "Benefit changed", "step_exit_case": "Exit", "step_open_review": "Review opened", "review_open": "Review open since", "payments_held": "payments held", "reason_death_registered": "death registered", "reason_birth_registered": "birth registered",
        "step_record_fraud": "Fraud recorded", "step_pay_first": "Paid first",
        "role_caseworker": "caseworker", "role_approver": "approver", "role_finance_officer": "finance", "role_hotline_operator": "12349 hotline",
        "role_report_handler": "report handler", "role_policy_admin": "policy admin", "role_admin": "admin", "role_analyst": "analyst",
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

"""Row problems of an imported or edited table (``workflow.kernel.tabular.
RowError``) in the user's language: each told by its reason code, with its
row and column."""

from __future__ import annotations

from flask_babel import gettext as _

from web.support.labels import _l

REASONS = {
    "unreadable": _l("文件无法读取（%(value)s）"), "empty": _l("文件中没有数据行"),
    "missing_column": _l("缺少该列"), "required": _l("不能为空"), "too_long": _l("内容过长"),
    "unknown_level": _l("未知级别“%(value)s”（应为禁止、限制或控制）"),
    "unknown_kind": _l("未知规则类别“%(value)s”"),
    "kind_mismatch": _l("本次导入只接受类别为“%(value)s”的行"),
    "unknown_check": _l("未知检查方式“%(value)s”"),
    "unknown_verdict": _l("未知结论“%(value)s”（应为禁止、限制或提示）"),
    "bad_number": _l("“%(value)s”不是正数"), "bad_cas": _l("“%(value)s”不是有效的 CAS 号"),
    "bad_flag": _l("“%(value)s”应为是或否"), "unknown_process": _l("未知工艺“%(value)s”"),
    "duplicate": _l("与第 %(value)s 行重复"), "conflict": _l("与表中已有的行冲突（%(value)s）"),
    "unknown_project_kind": _l("未知建设性质“%(value)s”（应为新建、改扩建或技术改造）"),
    "unknown_class": _l("未知化学品类别“%(value)s”"),
    "untypeable": _l("含有无法输入的字符（如控制字符）"),
    "provincial": _l("“%(value)s”为省级准入条件点名的物质，只能列为禁止类"),
    "too_many": _l("最多 %(value)s 个名称"),
    "bad_code": _l("“%(value)s”不是有效的编码（小写字母、数字和下划线）"),
}


def problem(error) -> str:
    """One problem: "第 3 行，name 列：不能为空" (a row of a file), "name：不能为空"
    (a field of an edited row) or the reason alone (the file as a whole)."""
    reason = str(REASONS[error.code]) % {"value": error.value} if error.code in REASONS \
        else str(error)
    if error.row:
        return _("第 %(row)s 行，%(column)s 列：%(reason)s", row=error.row, column=error.column,
                 reason=reason)
    if error.column:
        return _("%(column)s：%(reason)s", column=error.column, reason=reason)
    return reason


def problems(errors) -> str:
    return "；".join(problem(e) for e in errors)

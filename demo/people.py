"""The demo's people: the admin and the supervisor, the lead handlers (领办人)
and agents (代办员) of the five industry groups, and the twelve enterprises
with their users and well-formed credit codes (统一社会信用代码)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workflow.accounts.passwords import hash_password
from workflow.kernel.registry import group_by_code
from workflow.models import Enterprise, GroupMembership, User

if TYPE_CHECKING:
    from demo.seed import Seeder

DEMO_PASSWORD = "daiban-demo-2026"

# username, name, groups (one lead handler covers two groups)
LEADS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("lead01", "王建国", ("coal_chemical",)),
    ("lead02", "李文华", ("equipment",)),
    ("lead03", "张秀英", ("food",)),
    ("lead04", "刘志强", ("new_energy_materials",)),
    ("lead05", "陈晓东", ("emerging_logistics",)),
    ("lead06", "赵永明", ("coal_chemical", "new_energy_materials")),
)

# username, name, group, home department (one of the group's departments)
AGENTS: tuple[tuple[str, str, str, str], ...] = (
    ("agent01", "孙丽娟", "coal_chemical", "nature_resources"),
    ("agent02", "周海涛", "coal_chemical", "ecology_env"),
    ("agent03", "吴晓燕", "coal_chemical", "emergency_seismic"),
    ("agent04", "郑宏伟", "coal_chemical", "development_reform"),
    ("agent05", "冯雪梅", "coal_chemical", "admin_approval"),
    ("agent06", "高志远", "equipment", "planning"),
    ("agent07", "杜建平", "equipment", "housing_construction"),
    ("agent08", "马春燕", "equipment", "nature_resources"),
    ("agent09", "韩立新", "equipment", "power_supply"),
    ("agent10", "郭晓红", "food", "water"),
    ("agent11", "任永刚", "food", "water_gas_supply"),
    ("agent12", "贾玉兰", "food", "cultural_relics"),
    ("agent13", "薛振华", "food", "ecology_env"),
    ("agent14", "闫海燕", "new_energy_materials", "meteorology"),
    ("agent15", "武文斌", "new_energy_materials", "planning"),
    ("agent16", "牛建英", "new_energy_materials", "power_supply"),
    ("agent17", "侯晓峰", "new_energy_materials", "development_reform"),
    ("agent18", "段丽萍", "emerging_logistics", "housing_construction"),
    ("agent19", "康志军", "emerging_logistics", "admin_approval"),
    ("agent20", "白雪琴", "emerging_logistics", "water"),
    ("agent21", "田国庆", "emerging_logistics", "meteorology"),
)

# username, company, short name, organisation-code body (4 chars), contact
ENTERPRISES: tuple[tuple[str, str, str, str, str], ...] = (
    ("ent01", "左云县晋北煤焦化有限公司", "晋北煤焦化", "3F2A", "李红军"),
    ("ent02", "山西云岗精细化工科技有限公司", "云岗精细化工", "4B7C", "杨建华"),
    ("ent03", "大同恒信重工装备有限公司", "恒信重工", "5D1E", "王志刚"),
    ("ent04", "左云县鑫达机械制造有限公司", "鑫达机械", "6G8H", "刘海"),
    ("ent05", "山西塞北绿源食品有限公司", "塞北绿源", "7J3K", "张丽"),
    ("ent06", "左云县雁门农牧产品加工有限公司", "雁门农牧", "8L4M", "赵春生"),
    ("ent07", "山西晋云风电装备有限公司", "晋云风电", "9N5P", "孙立新"),
    ("ent08", "大同光耀新能源科技有限公司", "光耀新能源", "2Q6R", "周静"),
    ("ent09", "山西左云新材料科技有限公司", "左云新材料", "1T7U", "吴国栋"),
    ("ent10", "左云县云通现代物流有限公司", "云通物流", "0W8X", "郑云飞"),
    ("ent11", "山西数智云谷信息技术有限公司", "数智云谷", "3Y9A", "冯晓"),
    ("ent12", "大同北方冷链仓储有限公司", "北方冷链", "4C2D", "陈磊"),
)



def add_people(seeder: Seeder) -> None:
    """The users, their groups and the enterprises (flushed)."""
    session, hashed = seeder.session, hash_password(DEMO_PASSWORD)
    groups = {code: group_by_code(session, code) for code in seeder.definition.groups}

    def user(username: str, name: str, role: str, **extra: Any) -> User:
        row = User(username=username, display_name=name, role=role, password_hash=hashed,
                   email=f"{username}@demo.zuoyun.example", active=True, away=False, **extra)
        session.add(row)
        seeder.users[username] = row
        return row

    user("admin", "系统管理员", "admin")
    # Display names are people's names: the pages add the role where it helps
    # (the header), and formal documents (the mandate) print the name alone.
    user("supervisor", "周明辉", "supervisor")
    for username, name, codes in LEADS:
        lead = user(username, name, "lead")
        for code in codes:
            session.add(GroupMembership(group=groups[code], user=lead))
    for username, name, code, department in AGENTS:
        if department not in seeder.definition.groups[code].departments:
            raise ValueError(f"{username}: {department} is not a department of {code}")
        agent = user(username, name, "agent", department=department)
        session.add(GroupMembership(group=groups[code], user=agent))
        seeder.groups.setdefault(code, []).append(agent)
    for n, (username, company, short, body, contact) in enumerate(ENTERPRISES, 1):
        row = Enterprise(name=company, credit_code=credit_code(body), contact_name=contact,
                         contact_phone=f"0352-38{n:02d}{(n * 7919) % 1000:03d}")
        session.add(row)
        seeder.enterprises[username] = row
        user(username, f"{contact}（{short}）", "enterprise", enterprise=row)
    session.flush()


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def credit_code(body: str) -> str:
    """A well-formed 18-character 统一社会信用代码 of an enterprise (91) in 左云县
    (140226) whose organisation code is ``MA0K`` + ``body``: both check
    characters follow GB 11714 and GB 32100."""
    org = "MA0K" + body
    total = sum(int(c, 36) * w for c, w in zip(org, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    org += "X" if check == 10 else "0" if check == 11 else str(check)
    code = "91140226" + org
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(code, _USCC_WEIGHTS, strict=True))
    return code + _USCC_CHARS[(31 - total % 31) % 31]

"""The privacy notice for guests, in Indonesian, English and Chinese at once: a lodging prints it
or shows its link, and every receipt carries the link. It is one page in three languages (not
the reader's interface language), so its text lives here rather than in the catalogues."""
from __future__ import annotations

GUEST_NOTICE = {
    "id": {
        "title": "Pemberitahuan privasi untuk tamu asing",
        "paragraphs": [
            "Penginapan ini wajib melaporkan setiap tamu asing kepada kantor imigrasi dalam 24 jam "
            "(UU 6/2011 tentang Keimigrasian, Pasal 72).",
            "Data yang dilaporkan: nama, tanggal dan tempat lahir, kewarganegaraan, dokumen perjalanan, izin tinggal, serta "
            "tanggal menginap. Data dikirim melalui SERASI Web kepada kantor imigrasi yang wilayahnya mencakup penginapan ini "
            "dan hanya digunakan untuk pengawasan orang asing.",
            "Data disimpan {days} hari setelah perubahan terakhir laporan; setelah itu identitas Anda dihapus dan hanya angka "
            "statistik yang tersisa.",
            "Anda berhak mengetahui data apa yang disimpan tentang Anda dan meminta perbaikannya (UU 27/2022 tentang "
            "Pelindungan Data Pribadi). Ajukan permintaan ke kantor imigrasi setempat dengan nomor dokumen perjalanan Anda; "
            "kantor menjawab dalam 3 x 24 jam.",
        ],
        "forever": "Data disimpan selama diperlukan oleh kantor imigrasi.",
    },
    "en": {
        "title": "Privacy notice for foreign guests",
        "paragraphs": [
            "This lodging must report every foreign guest to the immigration office within 24 hours "
            "(Law 6/2011 on Immigration, Article 72).",
            "What is reported: your name, date and place of birth, nationality, travel document, stay permit and the dates of "
            "your stay. It goes through SERASI Web to the immigration office whose area covers this lodging and is used only "
            "for the supervision of foreigners.",
            "It is kept for {days} days after the report last changed; then your identity is removed and only statistical "
            "counts remain.",
            "You may learn what is held about you and have it corrected (Law 27/2022 on personal data protection). Ask the "
            "local immigration office, giving your travel document number; it answers within 3 x 24 hours.",
        ],
        "forever": "It is kept as long as the immigration office needs it.",
    },
    "zh": {
        "title": "外国住客隐私告知",
        "paragraphs": [
            "本住宿场所依法须在24小时内向移民局报告每位外国住客（2011年第6号移民法第72条）。",
            "报告的数据包括：姓名、出生日期和地点、国籍、旅行证件、居留许可以及入住日期。数据通过 SERASI Web "
            "发送给管辖本住宿场所的移民局，仅用于外国人监管。",
            "数据在报告最后一次变更后保存{days}天；之后您的身份信息将被删除，仅保留统计数字。",
            "您有权了解保存了哪些关于您的数据并要求更正（2022年第27号个人数据保护法）。请凭旅行证件号码向当地移民局提出申请；"
            "移民局将在3×24小时内答复。",
        ],
        "forever": "数据在移民局需要期间保存。",
    },
}


def guest_notice(stay_days: int) -> list[dict]:
    """The notice's sections, with the stays' retention period filled in."""
    sections = []
    for language, notice in GUEST_NOTICE.items():
        paragraphs = [notice["forever"] if "{days}" in text and not stay_days else text.format(days=stay_days)
                      for text in notice["paragraphs"]]
        sections.append({"lang": language, "title": notice["title"], "paragraphs": paragraphs})
    return sections

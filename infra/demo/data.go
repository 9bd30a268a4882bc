package demo

import (
	"encoding/json"

	"github.com/onewindow/onewindow/shared/catalog"
)

// Regions (GB/T 2260).
const (
	hebei        = "130000" // 河北省
	shijiazhuang = "130100" // 石家庄市
)

// Department codes. The first four are those of the department apps in
// infra/local/apps.json.
const (
	deptXZSP    = "130100-XZSP" // 石家庄市行政审批局
	deptGA      = "130100-GA"   // 石家庄市公安局
	deptSCJG    = "130000-SCJG" // 河北省市场监督管理局
	deptXF      = "130000-XF"   // 河北省消防救援总队
	deptSJZSCJG = "130100-SCJG"
	deptWJW     = "130100-WJW"
	deptWHLY    = "130100-WHLY"
	deptZJ      = "130100-ZJ"
	deptZRZY    = "130100-ZRZY"
)

// departments: webhookUrl is empty (no department system runs locally; an
// admin sets one with PUT /departments/{code}); the app departments carry a
// demo secret so that setting a URL is all it takes.
func departments() []catalog.DepartmentInput {
	d := func(code, name, region string, secret bool) catalog.DepartmentInput {
		in := catalog.DepartmentInput{Code: ptr(code), Name: name, Region: region}
		if secret {
			in.WebhookSecret = demoSecret(code)
		}
		return in
	}
	return []catalog.DepartmentInput{
		d(deptXZSP, "石家庄市行政审批局", shijiazhuang, true),
		d(deptGA, "石家庄市公安局", shijiazhuang, true),
		d(deptSCJG, "河北省市场监督管理局", hebei, true),
		d(deptXF, "河北省消防救援总队", hebei, true),
		d(deptSJZSCJG, "石家庄市市场监督管理局", shijiazhuang, false),
		d(deptWJW, "石家庄市卫生健康委员会", shijiazhuang, false),
		d(deptWHLY, "石家庄市文化广电和旅游局", shijiazhuang, false),
		d(deptZJ, "石家庄市住房和城乡建设局", shijiazhuang, false),
		d(deptZRZY, "石家庄市自然资源和规划局", shijiazhuang, false),
	}
}

// License type codes (证照目录).
const (
	ltYYZZ   = "LT-YYZZ"   // 营业执照
	ltSFZ    = "LT-JMSFZ"  // 居民身份证
	ltSPJY   = "LT-SPJYXK" // 食品经营许可证
	ltXCY    = "LT-XCYDJ"  // 食品小餐饮登记证
	ltTZHY   = "LT-TZHYXK" // 特种行业许可证
	ltWSXK   = "LT-GGWSXK" // 公共场所卫生许可证
	ltPSXK   = "LT-PSXK"   // 城镇污水排入排水管网许可证
	ltXFJC   = "LT-XFJC"   // 消防安全检查合格证
	ltJKZM   = "LT-JKZM"   // 健康证明
	ltBDC    = "LT-BDCQZS" // 不动产权证书
	ltYPJY   = "LT-YPJYXK" // 药品经营许可证
	ltSGXK   = "LT-SGXK"   // 建筑工程施工许可证
	ltLXSXK  = "LT-LXSXK"  // 旅行社业务经营许可证
	ltYCXK   = "LT-YCXK"   // 营业性演出许可证
	ltYSZYZS = "LT-YSZY"   // 医师执业证书
)

func licenseTypes() []catalog.LicenseTypeInput {
	lt := func(code, name, dept string) catalog.LicenseTypeInput {
		return catalog.LicenseTypeInput{Code: ptr(code), Name: name, Department: dept}
	}
	return []catalog.LicenseTypeInput{
		lt(ltYYZZ, "营业执照", deptSJZSCJG),
		lt(ltSFZ, "居民身份证", deptGA),
		lt(ltSPJY, "食品经营许可证", deptSCJG),
		lt(ltXCY, "食品小餐饮登记证", deptSCJG),
		lt(ltTZHY, "特种行业许可证", deptGA),
		lt(ltWSXK, "公共场所卫生许可证", deptXZSP),
		lt(ltPSXK, "城镇污水排入排水管网许可证", deptXZSP),
		lt(ltXFJC, "公众聚集场所投入使用、营业前消防安全检查合格证", deptXF),
		lt(ltJKZM, "从业人员健康证明", deptWJW),
		lt(ltBDC, "不动产权证书", deptZRZY),
		lt(ltYPJY, "药品经营许可证", deptSJZSCJG),
		lt(ltSGXK, "建筑工程施工许可证", deptZJ),
		lt(ltLXSXK, "旅行社业务经营许可证", deptWHLY),
		lt(ltYCXK, "营业性演出许可证", deptWHLY),
		lt(ltYSZYZS, "医师执业证书", deptWJW),
	}
}

// Content types and sizes of materials.
var (
	pdf        = []string{"application/pdf"}
	pdfOFD     = []string{"application/pdf", "application/ofd"}
	scan       = []string{"application/pdf", "image/jpeg", "image/png"}
	anyType    = []string{"application/pdf", "image/jpeg", "image/png", "application/ofd"}
	mb2, mb5   = int64(2 << 20), int64(5 << 20)
	mb10       = int64(10 << 20)
	immediate  = true
	notCharged = &catalog.Fee{}
)

func m(code, name string, required bool, maxBytes int64, types []string, licenseType string) catalog.MaterialInput {
	return catalog.MaterialInput{Code: code, Name: name, Required: required, MaxBytes: ptr(maxBytes),
		ContentTypes: types, LicenseType: licenseType}
}

// Materials shared by several items: in a bundle each is submitted once.
var (
	matYYZZ = m("M-YYZZ", "营业执照", true, mb5, anyType, ltYYZZ)
	matSFZ  = m("M-FRSFZ", "法定代表人（负责人）身份证明", true, mb2, scan, ltSFZ)
	matCSZM = m("M-CSZM", "经营场所使用证明（产权证明或租赁合同）", true, mb10, pdfOFD, ltBDC)
	matPMT  = m("M-PMT", "经营场所平面布局图", true, mb10, scan, "")
	matJKZM = m("M-JKZM", "从业人员健康证明", true, mb5, scan, ltJKZM)
)

type itemSpec struct {
	code, name, kind, dept, region string
	legal, promised, accept        int
	immediate, mail                bool
	fee                            *catalog.Fee
	materials                      []catalog.MaterialInput
	form                           string
}

func (s itemSpec) input() catalog.ItemInput {
	in := catalog.ItemInput{
		Code: ptr(s.code), Name: s.name, Kind: s.kind, Department: catalog.RefInput{Code: s.dept},
		Region: s.region, LegalDays: ptr(s.legal), PromisedDays: ptr(s.promised),
		Immediate: s.immediate, Mail: s.mail, Fee: s.fee, Materials: s.materials,
	}
	if s.accept > 0 {
		in.AcceptDays = ptr(s.accept)
	}
	if s.form != "" {
		in.FormSchema = json.RawMessage(s.form)
	}
	return in
}

// The seven items of 民宿一件事 (requirement 000, 2.3.1), with the
// departments and systems of its table 2.3.1.3.
const (
	itemTZHY = "SJZ-GA-TZHY-001"
	itemGGWS = "SJZ-XZSP-GGWS-001"
	itemSPJY = "HB-SCJG-SPJY-001"
	itemXCY  = "HB-SCJG-XCY-001"
	itemSPBA = "HB-SCJG-SPBA-001"
	itemPSXK = "SJZ-XZSP-PSXK-001"
	itemXFJC = "HB-XF-JCHG-001"
	itemQYDJ = "SJZ-SCJG-QYDJ-001"
)

func items() []catalog.ItemInput {
	const licensing, filing, confirmation, other = "行政许可", "其他行政权力", "行政确认", "公共服务"
	specs := []itemSpec{
		{code: itemTZHY, name: "旅馆业特种行业许可证核发（告知承诺制）", kind: licensing, dept: deptGA, region: shijiazhuang,
			legal: 20, promised: 5, accept: 2, mail: true, fee: notCharged,
			materials: []catalog.MaterialInput{
				m("M-TZHY-SQB", "旅馆业特种行业许可证申请登记表", true, mb5, pdfOFD, ""),
				matYYZZ, matSFZ, matCSZM, matPMT,
				m("M-TZHY-ZAZD", "治安保卫制度及安全防范措施", true, mb5, pdf, ""),
				m("M-TZHY-GZCN", "旅馆业特种行业许可告知承诺书", true, mb2, pdfOFD, ""),
				m("M-XFHG", "消防安全检查合格证明", false, mb5, anyType, ltXFJC),
			},
			form: `{"type":"object","required":["roomCount","bedCount","address"],"properties":{` +
				`"address":{"type":"string","minLength":4,"title":"经营地址"},` +
				`"roomCount":{"type":"integer","minimum":1,"title":"客房数"},` +
				`"bedCount":{"type":"integer","minimum":1,"title":"床位数"},` +
				`"securityOfficer":{"type":"string","title":"治安保卫负责人"}}}`},
		{code: itemGGWS, name: "公共场所卫生许可设立（告知承诺制）", kind: licensing, dept: deptXZSP, region: shijiazhuang,
			legal: 20, promised: 3, mail: true, fee: notCharged,
			materials: []catalog.MaterialInput{
				m("M-GGWS-SQS", "公共场所卫生许可申请书", true, mb5, pdfOFD, ""),
				matYYZZ, matSFZ, matPMT, matJKZM,
				m("M-GGWS-GLZD", "卫生管理制度", true, mb5, pdf, ""),
				m("M-GGWS-JCBG", "公共场所卫生检测报告", false, mb10, pdf, ""),
				m("M-GGWS-GZCN", "公共场所卫生许可告知承诺书", true, mb2, pdfOFD, ""),
			}},
		{code: itemSPJY, name: "食品经营许可", kind: licensing, dept: deptSCJG, region: shijiazhuang,
			legal: 20, promised: 10, mail: true, fee: notCharged,
			materials: []catalog.MaterialInput{
				m("M-SPJY-SQS", "食品经营许可申请书", true, mb5, pdfOFD, ""),
				matYYZZ, matSFZ, matCSZM,
				m("M-PMT", "经营设施设备布局和操作流程图", true, mb10, pdf, ""),
				m("M-SPJY-AQZD", "食品安全管理制度", true, mb5, pdf, ""),
				m("M-SPJY-AQY", "食品安全管理人员名单及培训考核证明", true, mb5, scan, ""),
			},
			form: `{"type":"object","required":["businessItems"],"properties":{` +
				`"businessItems":{"type":"array","items":{"type":"string","enum":["预包装食品销售","散装食品销售","热食类食品制售","冷食类食品制售","自制饮品制售"]},"minItems":1,"title":"经营项目"},` +
				`"area":{"type":"number","minimum":0,"title":"经营面积（平方米）"}}}`},
		{code: itemXCY, name: "食品小餐饮登记（告知承诺制）", kind: confirmation, dept: deptSCJG, region: shijiazhuang,
			legal: 1, promised: 0, immediate: immediate, fee: notCharged,
			materials: []catalog.MaterialInput{
				m("M-XCY-DJB", "食品小餐饮登记表", true, mb5, pdfOFD, ""),
				matYYZZ, matSFZ, matCSZM, matJKZM,
				m("M-XCY-GZCN", "食品小餐饮登记告知承诺书", true, mb2, pdfOFD, ""),
			}},
		{code: itemSPBA, name: "食品经营备案（仅销售预包装食品）", kind: filing, dept: deptSCJG, region: shijiazhuang,
			legal: 0, promised: 0, immediate: immediate, fee: notCharged,
			materials: []catalog.MaterialInput{
				m("M-SPBA-XXB", "仅销售预包装食品备案信息采集表", true, mb5, pdfOFD, ""),
				matYYZZ, matSFZ,
			}},
		{code: itemPSXK, name: "城镇污水排入排水管网许可", kind: licensing, dept: deptXZSP, region: shijiazhuang,
			legal: 20, promised: 7, mail: true, fee: notCharged,
			materials: []catalog.MaterialInput{
				m("M-PSXK-SQB", "城镇污水排入排水管网许可申请表", true, mb5, pdfOFD, ""),
				matYYZZ,
				m("M-PSXK-GWT", "排水户内部排水管网、专用检测井、污水排放口位置和口径的图纸及说明", true, mb10, scan, ""),
				m("M-PSXK-SZBG", "排水水质检测报告", true, mb10, pdf, ""),
				m("M-PSXK-YCSS", "预处理设施（隔油池）建设及运行说明", false, mb5, pdf, ""),
			}},
		{code: itemXFJC, name: "公众聚集场所投入使用、营业前消防安全检查（告知承诺制）", kind: licensing, dept: deptXF, region: shijiazhuang,
			legal: 10, promised: 3, mail: true, fee: notCharged,
			materials: []catalog.MaterialInput{
				m("M-XFJC-SQB", "公众聚集场所投入使用、营业前消防安全检查申请表", true, mb5, pdfOFD, ""),
				matYYZZ, matSFZ, matPMT,
				m("M-XFJC-CNS", "消防安全告知承诺书", true, mb2, pdfOFD, ""),
				m("M-XFJC-ZD", "消防安全制度、灭火和应急疏散预案", true, mb5, pdf, ""),
			}},

		// Standalone items.
		{code: itemQYDJ, name: "企业设立登记", kind: licensing, dept: deptSJZSCJG, region: shijiazhuang,
			legal: 3, promised: 1, mail: true, fee: notCharged,
			materials: []catalog.MaterialInput{
				m("M-QYDJ-SQS", "企业设立登记申请书", true, mb5, pdfOFD, ""),
				m("M-QYDJ-ZC", "公司章程", true, mb5, pdf, ""),
				matSFZ, matCSZM,
			}},
		{code: "SJZ-SCJG-YPLS-001", name: "药品零售企业经营许可", kind: licensing, dept: deptSJZSCJG, region: shijiazhuang,
			legal: 30, promised: 15, mail: true, fee: notCharged,
			materials: []catalog.MaterialInput{
				m("M-YPLS-SQB", "药品经营许可证申请表", true, mb5, pdfOFD, ""),
				matYYZZ, matCSZM,
				m("M-YPLS-ZYYS", "执业药师注册证", true, mb5, scan, ""),
				m("M-YPLS-GSP", "药品经营质量管理文件目录", true, mb10, pdf, ""),
			}},
		{code: "SJZ-XZSP-YLQX-002", name: "第二类医疗器械经营备案", kind: filing, dept: deptXZSP, region: shijiazhuang,
			legal: 0, promised: 0, immediate: immediate, fee: notCharged,
			materials: []catalog.MaterialInput{
				m("M-YLQX-BAB", "第二类医疗器械经营备案表", true, mb5, pdfOFD, ""),
				matYYZZ, matCSZM,
				m("M-YLQX-ZLZD", "经营质量管理制度、工作程序文件目录", true, mb10, pdf, ""),
			}},
		{code: "SJZ-WHLY-YCXK-001", name: "营业性演出许可", kind: licensing, dept: deptWHLY, region: shijiazhuang,
			legal: 20, promised: 5, fee: notCharged,
			materials: []catalog.MaterialInput{
				m("M-YCXK-SQB", "营业性演出申请登记表", true, mb5, pdfOFD, ""),
				m("M-YCXK-JMD", "演出节目内容说明及节目单", true, mb10, pdf, ""),
				m("M-YCXK-HT", "演出场所合同或者场地使用协议", true, mb10, pdfOFD, ""),
				matSFZ,
			}},
		{code: "SJZ-WHLY-LXS-001", name: "旅行社业务经营许可", kind: licensing, dept: deptWHLY, region: shijiazhuang,
			legal: 20, promised: 10, mail: true, fee: notCharged,
			materials: []catalog.MaterialInput{
				m("M-LXS-SQS", "旅行社业务经营许可申请书", true, mb5, pdfOFD, ""),
				matYYZZ, matCSZM,
				m("M-LXS-BZJ", "旅游服务质量保证金存单", true, mb5, scan, ""),
			}},
		{code: "SJZ-ZJ-SGXK-001", name: "建筑工程施工许可证核发", kind: licensing, dept: deptZJ, region: shijiazhuang,
			legal: 15, promised: 3, mail: true, fee: notCharged,
			materials: []catalog.MaterialInput{
				m("M-SGXK-SQB", "建筑工程施工许可证申请表", true, mb5, pdfOFD, ""),
				m("M-SGXK-HT", "施工合同", true, mb10, pdf, ""),
				m("M-SGXK-ZJ", "建设资金已经落实承诺书", true, mb2, pdfOFD, ""),
			}},
		{code: "SJZ-ZRZY-BDCDJ-001", name: "国有建设用地使用权及房屋所有权首次登记", kind: confirmation, dept: deptZRZY, region: shijiazhuang,
			legal: 30, promised: 5, mail: true, fee: &catalog.Fee{Required: true, AmountFen: 8000},
			materials: []catalog.MaterialInput{
				m("M-BDC-SQS", "不动产登记申请书", true, mb5, pdfOFD, ""),
				matSFZ,
				m("M-BDC-TDZ", "不动产权属来源证明", true, mb10, pdfOFD, ltBDC),
				m("M-BDC-JGYS", "建设工程竣工验收材料", true, mb10, pdf, ""),
				m("M-BDC-CHBG", "不动产测绘报告", true, mb10, pdf, ""),
			}},
		{code: "SJZ-GA-HZQF-001", name: "普通护照签发", kind: other, dept: deptGA, region: shijiazhuang,
			legal: 7, promised: 7, mail: true, fee: &catalog.Fee{Required: true, AmountFen: 12000},
			materials: []catalog.MaterialInput{
				m("M-HZ-SFZ", "居民身份证", true, mb2, scan, ltSFZ),
				m("M-HZ-ZP", "出入境证件数字相片", true, mb2, []string{"image/jpeg", "image/png"}, ""),
			}},
		{code: "SJZ-WJW-YSZC-001", name: "医师执业注册", kind: licensing, dept: deptWJW, region: shijiazhuang,
			legal: 20, promised: 10, fee: notCharged,
			materials: []catalog.MaterialInput{
				m("M-YSZC-SQS", "医师执业注册申请审核表", true, mb5, pdfOFD, ""),
				m("M-YSZC-ZGZ", "医师资格证书", true, mb5, scan, ""),
				m("M-YSZC-TJ", "近6个月内的健康体检证明", true, mb5, scan, ""),
				matSFZ,
			}},
	}
	out := make([]catalog.ItemInput, len(specs))
	for i, s := range specs {
		out[i] = s.input()
	}
	return out
}

func bundles() []catalog.BundleInput {
	return []catalog.BundleInput{
		{Code: ptr("SJZ-YJS-MINSU"), Name: "民宿一件事", LeadDepartment: deptXZSP, PromisedDays: ptr(10),
			Items: []string{itemTZHY, itemGGWS, itemSPJY, itemXCY, itemSPBA, itemPSXK, itemXFJC}},
		{Code: ptr("SJZ-YJS-CANYIN"), Name: "开办餐饮店一件事", LeadDepartment: deptXZSP, PromisedDays: ptr(10),
			Items: []string{itemQYDJ, itemSPJY, itemXFJC, itemPSXK}},
	}
}

// scopeEntries: business-scope entries (经营范围规范条目) of the key
// domains of requirement 000, 2.3.2, with local expressions (自主公示项).
func scopeEntries() []catalog.ScopeEntryInput {
	e := func(code, name, domain string, texts ...string) catalog.ScopeEntryInput {
		in := catalog.ScopeEntryInput{Code: ptr(code), Name: name, Domain: domain}
		for i, t := range texts {
			in.Expressions = append(in.Expressions, catalog.Expression{ID: code + "-" + string(rune('A'+i)), Text: t})
		}
		return in
	}
	const bio, food, art, elec, tour = "生物医药", "食品", "文化艺术品", "电子元器件", "文化旅游"
	return []catalog.ScopeEntryInput{
		e("SC-1040", "药品零售", bio, "中药饮片零售", "连锁药店经营", "执业药师在线药学咨询服务"),
		e("SC-1041", "药品批发", bio, "抗生素类原料药批发", "疫苗冷链配送"),
		e("SC-1051", "第二类医疗器械销售", bio, "家用医疗器械销售", "医用防护用品销售", "康复辅助器具销售"),
		e("SC-2710", "化学药品制剂制造", bio, "抗生素制剂研发与制造", "创新药中试生产"),
		e("SC-1301", "食品销售", food, "赵县雪花梨及其制品销售", "藁城宫面销售", "正定马家卤鸡销售", "平山核桃及坚果炒货销售"),
		e("SC-1302", "餐饮服务", food, "正定八大碗特色餐饮", "冀菜宴席服务", "中央厨房配送"),
		e("SC-1303", "食品生产", food, "速冻面米食品生产", "糕点烘焙生产"),
		e("SC-5243", "工艺美术品及收藏品零售（象牙及其制品除外）", art, "藁城宫灯零售", "井陉拉花演出道具及工艺品销售", "赵州桥主题文创产品销售"),
		e("SC-2431", "工艺美术品及礼仪用品制造（象牙及其制品除外）", art, "宫灯手工制作", "剪纸、布艺等非遗工艺品制作"),
		e("SC-8750", "艺术品代理", art, "书画作品代理", "非遗传承人作品代理"),
		e("SC-3971", "电子元器件制造", elec, "半导体分立器件制造", "微波毫米波组件制造", "光电子器件制造"),
		e("SC-5176", "电子元器件批发", elec, "集成电路芯片批发", "被动电子元件批发"),
		e("SC-6520", "集成电路设计", elec, "第三代半导体（氮化镓、碳化硅）器件设计", "射频芯片设计"),
		e("SC-6110", "住宿服务", tour, "乡村民宿经营", "太行山旅游民宿", "正定古城精品民宿"),
		e("SC-7291", "旅游业务", tour, "红色旅游线路（西柏坡）组织", "研学旅行服务", "太行山水景区导览服务"),
	}
}

type demoSelection struct {
	uscc string
	in   catalog.SelectionInput
}

// selections: three demo enterprises' choices (USCCs with valid check
// characters), so that GET /scopes/stats shows something.
func selections() []demoSelection {
	sel := func(uscc string, entries ...catalog.SelectionEntryInput) demoSelection {
		return demoSelection{uscc: uscc, in: catalog.SelectionInput{Entries: entries}}
	}
	pick := func(code string, ids ...string) catalog.SelectionEntryInput {
		return catalog.SelectionEntryInput{Code: code, ExpressionIDs: ids}
	}
	return []demoSelection{
		sel("91130100MA0CXK1L28", pick("SC-6110", "SC-6110-A", "SC-6110-C"), pick("SC-1302", "SC-1302-A")),
		sel("91130102MA0D8TQ541", pick("SC-1301", "SC-1301-A", "SC-1301-B")),
		sel("91130105MA0E3Y6R7W", pick("SC-3971", "SC-3971-A", "SC-3971-B"), pick("SC-6520", "SC-6520-A")),
	}
}

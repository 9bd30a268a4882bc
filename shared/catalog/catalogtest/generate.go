// Package catalogtest generates realistic catalogues of any size for
// benchmarks and load tests: the departments of Shijiazhuang's districts
// and counties and of Hebei province, items named as service items are
// (subject + action + procedure), 3 to 10 materials each from a shared pool,
// license types, bundles and business-scope entries. The same size and seed
// always give the same catalogue.
package catalogtest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/onewindow/onewindow/shared/catalog"
)

// regions: Hebei, Shijiazhuang and its districts and counties (GB/T 2260).
var regions = []struct{ code, name string }{
	{"130000", "河北省"}, {"130100", "石家庄市"}, {"130102", "长安区"}, {"130104", "桥西区"}, {"130105", "新华区"},
	{"130107", "井陉矿区"}, {"130108", "裕华区"}, {"130109", "藁城区"}, {"130110", "鹿泉区"}, {"130111", "栾城区"},
	{"130121", "井陉县"}, {"130123", "正定县"}, {"130125", "行唐县"}, {"130126", "灵寿县"}, {"130127", "高邑县"},
	{"130128", "深泽县"}, {"130129", "赞皇县"}, {"130130", "无极县"}, {"130131", "平山县"}, {"130132", "元氏县"},
	{"130133", "赵县"}, {"130181", "辛集市"}, {"130183", "晋州市"}, {"130184", "新乐市"},
}

// agencies: the departments every region has, with their code suffix.
var agencies = []struct{ code, name string }{
	{"XZSP", "行政审批局"}, {"GA", "公安局"}, {"SCJG", "市场监督管理局"}, {"WJ", "卫生健康局"}, {"ZJ", "住房和城乡建设局"},
	{"ZRZY", "自然资源和规划局"}, {"JT", "交通运输局"}, {"NY", "农业农村局"}, {"JY", "教育局"}, {"MZ", "民政局"},
	{"RS", "人力资源和社会保障局"}, {"WL", "文化广电和旅游局"}, {"ST", "生态环境局"}, {"SW", "水务局"}, {"YJ", "应急管理局"},
}

// subjects are what items are about; some carry English acronyms, as real
// item names do.
var subjects = []string{
	"食品经营", "食品生产", "小餐饮", "药品零售", "药品批发", "医疗器械经营", "化妆品生产", "特种设备使用", "计量器具",
	"旅馆业特种行业", "公章刻制业", "典当业", "剧毒化学品购买", "烟花爆竹经营", "大型群众性活动", "保安服务",
	"公共场所卫生", "医疗机构执业", "医师执业", "护士执业", "放射诊疗", "母婴保健技术服务", "饮用水供水单位卫生",
	"建筑工程施工", "建设工程规划", "商品房预售", "建筑业企业资质", "燃气经营", "城镇污水排入排水管网", "城市道路占用挖掘",
	"户外广告设施设置", "国有建设用地使用权", "不动产首次", "林木采伐", "取水", "河道管理范围内建设项目",
	"道路货物运输经营", "道路旅客运输经营", "出租汽车经营", "机动车维修经营", "驾驶员培训",
	"种子生产经营", "农药经营", "兽药经营", "饲料生产", "动物防疫条件", "生鲜乳收购站",
	"民办学校办学", "校外培训机构", "幼儿园办园", "教师资格", "养老机构", "社会团体", "民办非企业单位", "殡葬服务",
	"人力资源服务", "劳务派遣经营", "职业技能培训机构", "营业性演出", "娱乐场所经营", "互联网上网服务营业场所",
	"旅行社业务经营", "出版物零售", "印刷经营", "广播电视节目制作经营", "排污", "危险废物经营", "建设项目环境影响评价",
	"危险化学品经营", "非煤矿山安全生产", "消防安全检查", "ICP经营", "IDC数据中心建设", "5G基站建设", "GSP药品经营质量",
	"GMP药品生产质量", "OFD电子证照归集",
}

var actions = []string{"许可", "登记", "备案", "核发", "审批", "认定", "变更", "延续", "注销", "补办", "确认", "年度报告"}

var procedures = []string{"", "", "", "（告知承诺制）", "（一般程序）", "（简易程序）", "（全程网办）"}

var kinds = []string{"行政许可", "行政许可", "行政许可", "行政确认", "其他行政权力", "公共服务", "行政给付", "行政检查"}

// materialPool: documents common to many items; item-specific ones are
// named after the subject.
var materialPool = []string{
	"营业执照", "法定代表人（负责人）身份证明", "授权委托书及受托人身份证明", "经营场所使用证明（产权证明或租赁合同）",
	"经营场所平面布局图", "从业人员健康证明", "安全管理制度", "应急预案", "专业技术人员资格证明", "设备设施清单",
	"检测检验报告", "环境影响评价文件", "消防安全检查合格证明", "建设工程规划许可证", "施工合同", "竣工验收报告",
	"不动产权证书", "土地使用权出让合同", "章程", "验资报告", "财务审计报告", "信用承诺书", "告知承诺书", "现场核查记录",
	"质量管理文件", "人员花名册及社保缴纳证明", "车辆行驶证", "驾驶员从业资格证", "教学计划", "收费标准",
}

var contentTypeSets = [][]string{
	{"application/pdf"},
	{"application/pdf", "application/ofd"},
	{"application/pdf", "image/jpeg", "image/png"},
	{"application/pdf", "image/jpeg", "image/png", "application/ofd"},
	{"image/jpeg", "image/png"},
}

var maxBytes = []int64{2 << 20, 5 << 20, 10 << 20}

var domains = []string{"生物医药", "食品", "文化艺术品", "电子元器件", "文化旅游", "装备制造", "新材料", "现代物流",
	"数字经济", "节能环保", "现代农业", "商贸服务", "建筑业", "教育培训", "医疗健康", "金融服务", "信息技术", "纺织服装",
	"新能源", "养老服务"}

var scopeWords = []string{"销售", "批发", "零售", "制造", "技术服务", "技术开发", "咨询服务", "进出口", "租赁", "维修",
	"设计", "检测", "培训", "运营", "仓储", "配送"}

var specialties = []string{"赵县雪花梨", "藁城宫面", "正定马家卤鸡", "平山核桃", "藁城宫灯", "井陉拉花", "赵州桥文创",
	"西柏坡红色旅游", "太行山民宿", "第三代半导体", "微波组件", "抗生素原料药", "生物疫苗", "中药饮片", "石家庄锦绣布艺",
	"鹿泉板栗", "灵寿金针菇", "行唐大枣", "辛集皮革", "无极皮革"}

// Department is the department code of region index r and agency a.
func departmentCode(r, a int) string { return regions[r].code + "-" + agencies[a].code }

// Generate returns a catalogue of n items with everything they refer to:
// one department per region and agency (24 × 15), 150 license types, a
// bundle per 200 items (3 to 8 items each) and a scope entry per 50 items.
// Records are published, version 1, updated at a fixed time.
func Generate(n int, seed uint64) catalog.Records {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	var r catalog.Records
	for ri, reg := range regions {
		for ai, ag := range agencies {
			r.Departments = append(r.Departments, catalog.Department{Code: departmentCode(ri, ai), Name: reg.name + ag.name,
				Region: reg.code, Version: 1, UpdatedAt: at})
		}
	}
	for i := range 150 {
		subject := subjects[i%len(subjects)]
		r.LicenseTypes = append(r.LicenseTypes, catalog.LicenseType{Code: fmt.Sprintf("LT-%04d", i),
			Name: subject + "许可证", Department: departmentCode(1, i%len(agencies)), Status: catalog.StatusPublished,
			Version: 1, UpdatedAt: at})
	}
	seq := map[string]int{}
	for range n {
		ri, ai := rng.IntN(len(regions)), rng.IntN(len(agencies))
		dept := departmentCode(ri, ai)
		seq[dept]++
		subject := subjects[rng.IntN(len(subjects))]
		action := actions[rng.IntN(len(actions))]
		legal := []int{0, 5, 10, 15, 20, 30, 60}[rng.IntN(7)]
		it := catalog.Item{
			Code:       fmt.Sprintf("%s-%06d", dept, seq[dept]),
			Name:       subject + action + procedures[rng.IntN(len(procedures))],
			Kind:       kinds[rng.IntN(len(kinds))],
			Department: catalog.DepartmentRef{Code: dept},
			Region:     regions[ri].code,
			LegalDays:  legal,
			AcceptDays: []int{1, 2, 3, 5, 5, 5}[rng.IntN(6)],
			Immediate:  legal == 0,
			Mail:       rng.IntN(3) > 0,
			Status:     catalog.StatusPublished,
			Version:    1,
			UpdatedAt:  at,
		}
		if legal > 0 {
			it.PromisedDays = 1 + rng.IntN(legal)
		}
		if rng.IntN(10) == 0 {
			it.Fee = catalog.Fee{Required: true, AmountFen: int64(1+rng.IntN(50)) * 1000}
		}
		it.Materials = []catalog.Material{{Code: "M-SQB", Name: subject + action + "申请表", Required: true,
			MaxBytes: 5 << 20, ContentTypes: contentTypeSets[1]}}
		for _, p := range rng.Perm(len(materialPool))[:2+rng.IntN(8)] {
			m := catalog.Material{Code: fmt.Sprintf("M-%03d", p), Name: materialPool[p], Required: rng.IntN(4) > 0,
				MaxBytes: maxBytes[rng.IntN(len(maxBytes))], ContentTypes: contentTypeSets[rng.IntN(len(contentTypeSets))]}
			if p == 0 {
				m.LicenseType = "LT-0000"
			}
			it.Materials = append(it.Materials, m)
		}
		r.Items = append(r.Items, it)
	}
	for i := range n / 200 {
		b := catalog.Bundle{Code: fmt.Sprintf("YJS-%05d", i), LeadDepartment: r.Departments[rng.IntN(len(r.Departments))].Code,
			PromisedDays: 5 + rng.IntN(15), Status: catalog.StatusPublished, Version: 1, UpdatedAt: at}
		for _, j := range rng.Perm(n)[:3+rng.IntN(6)] {
			b.Items = append(b.Items, r.Items[j].Code)
		}
		b.Name = "开办" + specialties[rng.IntN(len(specialties))] + firstRunes(subjects[rng.IntN(len(subjects))], 2) + "一件事"
		r.Bundles = append(r.Bundles, b)
	}
	for i := range max(n/50, 5) {
		domain := domains[i%len(domains)]
		word := scopeWords[rng.IntN(len(scopeWords))]
		e := catalog.ScopeEntry{Code: fmt.Sprintf("SC-%05d", i), Name: domain + "产品" + word, Domain: domain,
			Status: catalog.StatusPublished, Version: 1, UpdatedAt: at}
		for j := range 2 + rng.IntN(5) {
			e.Expressions = append(e.Expressions, catalog.Expression{ID: fmt.Sprintf("E%d", j),
				Text: specialties[rng.IntN(len(specialties))] + word})
		}
		r.ScopeEntries = append(r.ScopeEntries, e)
	}
	return r
}

func firstRunes(s string, n int) string {
	r := []rune(s)
	return string(r[:min(n, len(r))])
}

"""Name, place and code pools for the synthetic county (Los Angeles-like mix)."""

GIVEN_F = """Sofia Isabella Camila Valentina Mia Emily Ashley Jasmine Guadalupe Maria Daniela Gabriela
Natalie Samantha Elizabeth Jessica Jennifer Destiny Aaliyah Brianna Kimberly Stephanie Michelle
Katherine Victoria Alexis Emma Olivia Ava Chloe Zoe Leah Maya Nevaeh Imani Jacqueline Andrea Karen
Vanessa Yesenia Alondra Ximena Esmeralda Ariana Genesis Jayla Kayla Tiana Aniyah Layla Anahi Lucia
Rebecca Patricia Christina Katelyn Hannah Grace Lily Nora Ani Lilit Nare Mei Linh Thao Hana Yuna""".split()
GIVEN_M = """Jose Daniel Anthony Angel Christopher Michael David Jonathan Alexander Matthew Joshua Andrew
Isaac Adrian Diego Luis Carlos Juan Jesus Miguel Alejandro Francisco Eduardo Ricardo Roberto Manuel
Gabriel Samuel Nathaniel Benjamin Jacob Ethan Noah Liam Elijah Jayden Isaiah Xavier Malik Darnell
Jamal Marcus Tyrone DeAndre Kevin Brandon Justin Steven Richard Robert William James Joseph Nicholas
Zachary Timothy Theodore Aram Armen Davit Hayk Minh Khoa Jun Hiroshi Enrique Alberto""".split()
FAMILY = """Garcia Hernandez Lopez Martinez Gonzalez Rodriguez Perez Sanchez Ramirez Flores Torres Rivera
Gomez Diaz Cruz Morales Reyes Gutierrez Ortiz Chavez Ramos Ruiz Mendoza Castillo Jimenez Vasquez
Moreno Romero Alvarez Herrera Medina Aguilar Vargas Castro Guzman Salazar Rojas Navarro Contreras
Delgado Estrada Figueroa Fuentes Guerrero Ibarra Juarez Lara Luna Mejia Miranda Molina Nunez Ochoa
Pacheco Padilla Quintero Rios Salinas Soto Valdez Vega Zamora Johnson Williams Brown Jones Davis
Miller Wilson Moore Taylor Anderson Thomas Jackson White Harris Martin Thompson Robinson Clark Lewis
Walker Hall Allen Young King Wright Scott Green Baker Adams Nelson Carter Mitchell Roberts Turner
Phillips Campbell Parker Evans Edwards Collins Stewart Morris Washington Jefferson Freeman Banks
Nguyen Tran Le Pham Kim Lee Park Chen Wang Wong Liu Yamamoto Tanaka Santos Reyes Dela-Cruz Bautista
Petrosyan Sargsyan Harutyunyan Grigoryan Hovhannisyan Avetisyan Karapetyan Mkrtchyan O'Brien
McCarthy Sullivan Kowalski Novak Fischer Schmidt Rossi Russo Cohen Levy""".split()
PLACES = """Alhambra Arcadia Azusa Baldwin-Park Bassett Bellflower Beverly-Hills Burbank Castaic Centinela
Charter-Oak Claremont Compton Covina Culver-City Downey Duarte East-Whittier El-Monte El-Rancho
El-Segundo Garvey Glendale Glendora Hacienda Hawthorne Hermosa Inglewood Keppel Lancaster Lawndale
Lennox Little-Lake Los-Nietos Lynwood Manhattan Monrovia Montebello Mountain-View Newhall Norwalk
Palmdale Paramount Pasadena Pomona Redondo Rosemead Rowland San-Gabriel San-Marino Santa-Monica
Saugus Sulphur-Springs Temple-City Torrance Valle-Lindo Walnut West-Covina Westside Whittier Wilsonona
Wiseburn Acton Agua-Dulce Antelope Eastside Gorman Hughes-Elizabeth Lakes Long-Beach Los-Angeles
Bonita Calabasas Cerritos Artesia Gardena Carson Harbor""".split()
STREETS = """Main Oak Maple Pine Cedar Elm Washington Lincoln Jefferson Madison Adams Vermont Figueroa Hoover
Alvarado Normandie Western Crenshaw Florence Manchester Imperial Slauson Whittier Cesar-Chavez Sunset
Olympic Pico Venice Atlantic Garfield Valley Foothill Colorado Huntington Rosecrans Artesia""".split()
OFFICES = """Belvedere Compton Covina-Annex El-Monte Glendora Lancaster Metro-North Palmdale Pasadena Pomona
Santa-Clarita Santa-Fe-Springs South-County Torrance Van-Nuys Vermont-Corridor Wateridge
West-LA West-San-Fernando-Valley Hawthorne""".split()
PLACEMENT_TYPES = ["RFH", "RFH", "RFH", "KIN", "KIN", "FFA", "FFA", "STRTP", "GH", "SILP", "THP-NMD"]
LANGUAGES = ["eng"] * 6 + ["spa"] * 3 + ["arm", "kor", "vie", "tgl", "zho"]
RACES = ["700", "700", "600", "600", "600", "201", "202", "205", "100", "400", "301"]
ATTORNEY_ORGS = ["Children's Law Center of California", "Los Angeles Dependency Lawyers", "Public Defender - Juvenile"]
